"""Who is paid is decided under lock, and group changes take the workflow's lock order
(issue 10, items 10 and 14): real threads against PostgreSQL."""

import threading
import time

import pytest
from django.db import transaction

from marketplace.core.errors import DomainError
from marketplace.core.models import Group
from marketplace.core.services import (
    group_delete,
    group_leadership_transfer,
    group_leave,
    group_member_add,
)
from proposals import services
from proposals.models import Proposal
from tests.concurrency import run_together
from tests.factories import UserFactory
from tests.proposals.factories import bring_to, expect, make_team, money_state, propose

S = Proposal.Status
pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]


def in_transaction_held_open(change, started: threading.Event, seconds: float = 0.5):
    """Run `change` and keep its transaction open a while before committing, so that a
    concurrent call has to decide whether to wait for it."""

    def run():
        with transaction.atomic():
            change()
            started.set()
            time.sleep(seconds)

    return run


def after(started: threading.Event, call):
    def run():
        assert started.wait(10)
        return call()

    return run


def test_a_member_leaving_while_the_buyer_confirms_is_not_paid(ledger_clean):
    team = make_team(members=2, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)
    left = threading.Event()

    outcomes = run_together(
        in_transaction_held_open(lambda: group_leave(group=team.group, user=team.members[1]), left),
        after(left, lambda: services.proposal_confirm(proposal=proposal, actor=team.buyer)),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    # The confirmation waited for the leave: 1000.00 -> fee 100.00, commission 30.00,
    # pool 870.00 between the two participants still in the group.
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("465.00", "0.00"),
        m1=("435.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_a_leadership_transfer_while_the_buyer_confirms_pays_the_new_leader(ledger_clean):
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)
    moved = threading.Event()
    new_leader = team.members[0]

    outcomes = run_together(
        in_transaction_held_open(
            lambda: group_leadership_transfer(
                group=team.group, actor=team.leader, new_leader_id=new_leader.pk
            ),
            moved,
        ),
        after(moved, lambda: services.proposal_confirm(proposal=proposal, actor=team.buyer)),
    )

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    # The commission (30.00) goes to whoever leads when the release commits.
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("435.00", "0.00"),
        m1=("465.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_with_no_participant_left_the_leader_at_release_takes_the_pool(ledger_clean):
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)
    newcomer = UserFactory()
    group_member_add(group=team.group, actor=team.leader, user=newcomer)
    group_leadership_transfer(group=team.group, actor=team.leader, new_leader_id=newcomer.pk)
    for participant in (team.leader, team.members[0]):
        group_leave(group=team.group, user=participant)

    services.proposal_confirm(proposal=proposal, actor=team.buyer)

    team.people["newcomer"] = newcomer
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        newcomer=("900.00", "0.00"),  # commission 30.00 and the whole pool, 870.00
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_deleting_a_group_while_its_buyer_accepts_never_deadlocks(ledger_clean):
    for _ in range(12):
        team = make_team(members=1, deposit="500.00")
        proposal = propose(team, price="100.00")

        accepted, deleted = run_together(
            lambda p=proposal, t=team: services.proposal_accept(proposal=p, actor=t.buyer),
            lambda t=team: group_delete(group=t.group, actor=t.leader),
        )

        for outcome in (accepted, deleted):
            assert not isinstance(outcome, Exception) or isinstance(outcome, DomainError), outcome
        if isinstance(accepted, Exception):  # the delete went first
            assert accepted.code == "not_found"
            assert not Group.objects.filter(pk=team.group.pk).exists()
        else:  # the accept went first: the money held keeps the group
            assert deleted.code == "escrow_active"
            assert money_state(team)["buyer"] == ("400.00", "100.00")
    ledger_clean()
