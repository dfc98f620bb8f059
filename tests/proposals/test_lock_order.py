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


def confirm_while_held_open(team, proposal, change) -> list:
    """Run the group `change` in a transaction held open for a while, and the buyer's
    confirmation as soon as the change is made but not yet committed: the confirmation
    must wait for it, since who is in the group decides who is paid."""
    changed = threading.Event()

    def make_the_change():
        with transaction.atomic():
            change()
            changed.set()
            time.sleep(0.5)

    def confirm():
        assert changed.wait(10)
        return services.proposal_confirm(proposal=proposal, actor=team.buyer)

    return run_together(make_the_change, confirm)


# 1000.00 confirmed: fee 100.00, commission 30.00, pool 870.00.
LEAVE = {
    "members": 2,
    "change": lambda team: group_leave(group=team.group, user=team.members[1]),
    # The pool goes to the two participants still in the group: 435.00 each.
    "paid": {"leader": ("465.00", "0.00"), "m1": ("435.00", "0.00")},
}
TRANSFER = {
    "members": 1,
    "change": lambda team: group_leadership_transfer(
        group=team.group, actor=team.leader, new_leader_id=team.members[0].pk
    ),
    # The commission goes to whoever leads when the release commits.
    "paid": {"leader": ("435.00", "0.00"), "m1": ("465.00", "0.00")},
}


@pytest.mark.parametrize("case", [LEAVE, TRANSFER], ids=["leave", "transfer"])
def test_a_group_change_racing_a_confirmation_decides_who_is_paid(case, ledger_clean):
    team = make_team(members=case["members"], deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)

    outcomes = confirm_while_held_open(team, proposal, lambda: case["change"](team))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
        **case["paid"],
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
