"""The proposal workflow's services: every transition, every refusal, the exact cents."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from djmoney.money import Money

from escrow.models import EscrowHold, EscrowTransaction
from marketplace.core.errors import DomainError
from marketplace.core.models import Conversation, GroupMembership, Message
from marketplace.core.services import group_leave
from proposals import services, transitions
from proposals.invariants import proposal_escrow_problems
from proposals.models import Proposal, Task
from proposals.selectors import proposals_due_for_auto_release
from proposals.services import task_create
from tests.factories import UserFactory

from .factories import (
    bring_to,
    expect,
    group_money,
    make_team,
    money_state,
    platform_revenue,
    propose,
    race,
    usd,
    user_money,
)

pytestmark = pytest.mark.django_db
S = Proposal.Status

# action -> (service, the role allowed to call it)
ACTIONS = {
    "accept": (services.proposal_accept, "buyer"),
    "reject": (services.proposal_reject, "buyer"),
    "withdraw": (services.proposal_withdraw, "leader"),
    "start": (services.proposal_start, "leader"),
    "deliver": (services.proposal_deliver, "leader"),
    "request_changes": (services.proposal_request_changes, "buyer"),
    "confirm": (services.proposal_confirm, "buyer"),
    "cancel": (services.proposal_cancel, "leader"),
}
REACHABLE = [
    S.PENDING,
    S.ACCEPTED,
    S.IN_PROGRESS,
    S.DELIVERED,
    S.COMPLETED,
    S.REJECTED,
    S.WITHDRAWN,
    S.CANCELLED,
    S.DISPUTED,
]


def system_messages(conversation):
    return list(
        Message.objects.filter(conversation=conversation, sender=None)
        .order_by("id")
        .values_list("metadata", flat=True)
    )


def snapshot(team, proposal):
    """Everything a refused call must leave as it was."""
    proposal = Proposal.objects.get(pk=proposal.pk)
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    return {
        "proposal": (
            proposal.status,
            proposal.escrow_amount,
            proposal.escrow_hold_id,
            sorted(proposal.participants.values_list("pk", flat=True)),
            proposal.accepted_at,
            proposal.started_at,
            proposal.delivered_at,
            proposal.completed_at,
            proposal.cancelled_at,
        ),
        "conversation": (
            conversation.active_proposal_id,
            conversation.total_proposals,
            conversation.total_completed_projects,
        ),
        "messages": Message.objects.filter(conversation=conversation).count(),
        "ledger": EscrowTransaction.objects.count(),
        "holds": EscrowHold.objects.count(),
        "money": money_state(team),
    }


# --- create -------------------------------------------------------------------------


def test_create_freezes_rates_and_breakdown_and_counts(ledger_clean):
    team = make_team()
    proposal = propose(team, "1000.00")
    proposal.refresh_from_db()
    assert proposal.status == S.PENDING
    assert proposal.created_by == team.leader
    assert proposal.price == usd("1000.00")
    assert (proposal.platform_fee_rate, proposal.leader_commission_rate) == (
        Decimal("0.1000"),
        Decimal("0.0300"),
    )
    assert proposal.platform_fee == usd("100.00")
    assert proposal.leader_commission == usd("30.00")
    assert proposal.member_pool == usd("870.00")
    assert proposal.escrow_amount == usd("0.00")
    assert proposal.escrow_hold is None
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id == proposal.pk
    assert conversation.total_proposals == 1
    assert conversation.total_completed_projects == 0
    assert system_messages(conversation) == [
        {"type": "proposal", "proposal_id": proposal.pk, "status": "pending"}
    ]
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_create_rounds_fee_and_commission_half_up():
    team = make_team()
    proposal = propose(team, "100.05")
    # 10.005 -> 10.01 (half up), 3.0015 -> 3.00, the pool is what is left.
    assert proposal.platform_fee == usd("10.01")
    assert proposal.leader_commission == usd("3.00")
    assert proposal.member_pool == usd("87.04")


@pytest.mark.parametrize("who", ["buyer", "m1", "stranger"])
def test_create_refused_to_anyone_but_the_leader(who):
    team = make_team()
    actor = UserFactory() if who == "stranger" else team.people[who]
    with pytest.raises(DomainError) as refused:
        services.proposal_create(
            conversation=team.conversation, actor=actor, title="X", price=usd("10.00")
        )
    assert (refused.value.code, refused.value.status) == ("permission_denied", 403)
    assert not Proposal.objects.exists()
    assert Conversation.objects.get(pk=team.conversation.pk).total_proposals == 0
    assert not Message.objects.exists()


@pytest.mark.parametrize("status", [S.PENDING, S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED, S.DISPUTED])
def test_create_refused_while_another_proposal_is_open(status):
    team = make_team()
    open_one = bring_to(team, status)
    before = snapshot(team, open_one)
    with pytest.raises(DomainError) as refused:
        propose(team, "10.00", title="Another")
    assert (refused.value.code, refused.value.status) == ("proposal_open", 409)
    assert Proposal.objects.count() == 1
    assert snapshot(team, open_one) == before


@pytest.mark.parametrize("status", [S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.CANCELLED])
def test_create_allowed_again_once_the_open_one_closed(status):
    team = make_team()
    first = bring_to(team, status)
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id is None
    second = propose(team, "10.00", title="Next")
    conversation.refresh_from_db()
    assert conversation.active_proposal_id == second.pk
    assert conversation.total_proposals == 2
    assert conversation.total_completed_projects == (1 if status == S.COMPLETED else 0)
    assert first.pk != second.pk


@pytest.mark.parametrize("price", [usd("0.00"), usd("-5.00"), usd("10.001"), usd("1000000.01")])
def test_create_refuses_bad_prices(price):
    team = make_team()
    with pytest.raises(DomainError) as refused:
        services.proposal_create(
            conversation=team.conversation, actor=team.leader, title="X", price=price
        )
    assert (refused.value.code, refused.value.status) == ("invalid_amount", 400)
    assert not Proposal.objects.exists()


def test_create_refuses_a_missing_title():
    team = make_team()
    with pytest.raises(DomainError) as refused:
        services.proposal_create(
            conversation=team.conversation, actor=team.leader, title="  ", price=usd("10.00")
        )
    assert refused.value.code == "invalid_title"


# --- accept -------------------------------------------------------------------------


def test_accept_locks_the_price_and_snapshots_the_members(ledger_clean):
    team = make_team()
    proposal = propose(team)
    ledger_clean()
    proposal = services.proposal_accept(proposal=proposal, actor=team.buyer)
    proposal.refresh_from_db()
    assert proposal.status == S.ACCEPTED
    assert proposal.accepted_at is not None
    assert proposal.escrow_amount == usd("1000.00")
    assert proposal.escrow_hold.amount == usd("1000.00")
    assert set(proposal.participants.all()) == {team.leader, *team.members}
    lock = EscrowTransaction.objects.get(to_hold=proposal.escrow_hold)
    assert (lock.kind, lock.amount, lock.actor) == ("escrow_lock", usd("1000.00"), team.buyer)
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id == proposal.pk
    assert system_messages(conversation)[-1] == {
        "type": "proposal",
        "proposal_id": proposal.pk,
        "status": "accepted",
    }
    ledger_clean()


def test_accept_with_insufficient_funds_changes_nothing(ledger_clean):
    team = make_team(deposit="999.99")
    proposal = propose(team)
    before = snapshot(team, proposal)
    with pytest.raises(DomainError) as refused:
        services.proposal_accept(proposal=proposal, actor=team.buyer)
    assert (refused.value.code, refused.value.status) == ("insufficient_funds", 409)
    assert snapshot(team, proposal) == before
    assert before["money"] == expect(team, buyer=("999.99", "0.00"))
    ledger_clean()


def test_participants_are_the_members_at_acceptance():
    team = make_team(members=1)
    proposal = propose(team)
    late = UserFactory()
    GroupMembership.objects.create(group=team.group, user=late)
    services.proposal_accept(proposal=proposal, actor=team.buyer)
    GroupMembership.objects.create(group=team.group, user=UserFactory())
    assert set(proposal.participants.all()) == {team.leader, team.members[0], late}


# --- refusals, for every action -----------------------------------------------------


def _refusals_of_state():
    for action, (_, _) in ACTIONS.items():
        allowed = transitions.TRANSITIONS[action].sources
        for status in REACHABLE:
            if status not in allowed:
                yield pytest.param(action, status, id=f"{action}-{status}")


@pytest.mark.parametrize(("action", "status"), list(_refusals_of_state()))
def test_every_action_refused_in_the_wrong_status(action, status, ledger_clean):
    team = make_team()
    proposal = bring_to(team, status)
    service, role = ACTIONS[action]
    before = snapshot(team, proposal)
    with pytest.raises(DomainError) as refused:
        service(proposal=proposal, actor=team.people[role])
    assert (refused.value.code, refused.value.status) == ("invalid_transition", 409)
    assert snapshot(team, proposal) == before
    ledger_clean()


def _refusals_of_actor():
    for action, (_, role) in ACTIONS.items():
        for who in ("buyer", "leader", "m1", "stranger", "staff"):
            if who != role:
                yield pytest.param(action, who, id=f"{action}-{who}")


@pytest.mark.parametrize(("action", "who"), list(_refusals_of_actor()))
def test_every_action_refused_to_the_wrong_actor(action, who, ledger_clean):
    team = make_team()
    status = sorted(transitions.TRANSITIONS[action].sources)[0]
    proposal = bring_to(team, status)
    service, _ = ACTIONS[action]
    if who == "stranger":
        actor = UserFactory()
    elif who == "staff":
        actor = UserFactory(is_staff=True, is_superuser=True)
    else:
        actor = team.people[who]
    before = snapshot(team, proposal)
    with pytest.raises(DomainError) as refused:
        service(proposal=proposal, actor=actor)
    assert (refused.value.code, refused.value.status) == ("permission_denied", 403)
    assert snapshot(team, proposal) == before
    ledger_clean()


# --- the transitions that move no money ---------------------------------------------


def test_reject_and_withdraw_close_the_proposal():
    team = make_team()
    proposal = services.proposal_reject(proposal=propose(team), actor=team.buyer)
    assert (proposal.status, proposal.rejected_at is not None) == (S.REJECTED, True)
    proposal = services.proposal_withdraw(proposal=propose(team, title="B"), actor=team.leader)
    assert (proposal.status, proposal.withdrawn_at is not None) == (S.WITHDRAWN, True)
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_proposals) == (None, 2)
    assert [m["status"] for m in system_messages(conversation)] == [
        "pending",
        "rejected",
        "pending",
        "withdrawn",
    ]
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))


def test_start_deliver_request_changes_and_redeliver(ledger_clean):
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    proposal = services.proposal_start(proposal=proposal, actor=team.leader)
    started_at = proposal.started_at
    assert proposal.status == S.IN_PROGRESS and started_at is not None
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    first_delivery = proposal.delivered_at
    assert proposal.status == S.DELIVERED and first_delivery is not None
    proposal = services.proposal_request_changes(
        proposal=proposal, actor=team.buyer, note="The logo is too small."
    )
    assert proposal.status == S.IN_PROGRESS
    assert proposal.started_at == started_at  # the first start is kept
    last = Message.objects.filter(conversation=team.conversation).latest("id")
    assert "The logo is too small." in last.body
    assert last.metadata == {
        "type": "proposal",
        "proposal_id": proposal.pk,
        "status": "in_progress",
    }
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    assert proposal.delivered_at > first_delivery
    # Escrow is untouched by all of it.
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id == proposal.pk
    ledger_clean()


def test_deliver_straight_from_accepted():
    team = make_team()
    proposal = services.proposal_deliver(proposal=bring_to(team, S.ACCEPTED), actor=team.leader)
    assert proposal.status == S.DELIVERED
    assert proposal.started_at is None
    proposal = services.proposal_request_changes(proposal=proposal, actor=team.buyer, note="")
    assert proposal.started_at is not None


# --- money: confirm and cancel ------------------------------------------------------


def test_story_1000_with_leader_and_two_members(ledger_clean):
    team = make_team(members=2, deposit="1500.00")
    proposal = propose(team, "1000.00")
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()
    held = expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    proposal = services.proposal_accept(proposal=proposal, actor=team.buyer)
    assert money_state(team) == held
    ledger_clean()
    proposal = services.proposal_start(proposal=proposal, actor=team.leader)
    assert money_state(team) == held
    ledger_clean()
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    assert money_state(team) == held
    ledger_clean()
    proposal = services.proposal_confirm(proposal=proposal, actor=team.buyer)
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("320.00", "0.00"),  # 30.00 commission + 290.00 share
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()
    proposal.refresh_from_db()
    assert proposal.status == S.COMPLETED
    assert proposal.completed_at is not None
    assert proposal.escrow_amount == usd("0.00")
    assert proposal.escrow_hold.amount == usd("0.00")
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id is None
    assert conversation.total_proposals == 1
    assert conversation.total_completed_projects == 1
    assert [m["status"] for m in system_messages(conversation)] == [
        "pending",
        "accepted",
        "in_progress",
        "delivered",
        "completed",
    ]
    legs = EscrowTransaction.objects.filter(from_hold=proposal.escrow_hold)
    assert sorted((leg.kind, str(leg.amount.amount)) for leg in legs) == [
        ("leader_commission", "30.00"),
        ("member_share", "290.00"),
        ("member_share", "290.00"),
        ("member_share", "290.00"),
        ("platform_fee", "100.00"),
    ]


def test_odd_price_leftover_cents_go_to_the_earliest_joiners(ledger_clean):
    # m2 joined first, then the leader, then m1: ids say otherwise.
    team = make_team(members=2, deposit="200.00", joined_order=["m2", "leader", "m1"])
    proposal = bring_to(team, S.DELIVERED, price="100.01")
    ledger_clean()
    # fee 10.0010 -> 10.00, commission 3.0003 -> 3.00, pool 87.01 = 29.01 + 29.00 + 29.00
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    assert money_state(team) == expect(
        team,
        buyer=("99.99", "0.00"),
        m2=("29.01", "0.00"),
        leader=("32.00", "0.00"),
        m1=("29.00", "0.00"),
        group=("0.00", "90.01"),
        platform="10.00",
    )
    ledger_clean()


def test_two_leftover_cents_follow_joining_then_id(ledger_clean):
    team = make_team(members=2, deposit="200.00")
    # The leader and m1 joined at the very same instant: the earlier membership id wins.
    GroupMembership.objects.filter(group=team.group).update(
        joined_at=GroupMembership.objects.get(group=team.group, user=team.leader).joined_at
    )
    proposal = bring_to(team, S.DELIVERED, price="100.02")
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    # pool 87.02 = 29.01 (leader) + 29.01 (m1) + 29.00 (m2)
    assert money_state(team) == expect(
        team,
        buyer=("99.98", "0.00"),
        leader=("32.01", "0.00"),
        m1=("29.01", "0.00"),
        m2=("29.00", "0.00"),
        group=("0.00", "90.02"),
        platform="10.00",
    )
    ledger_clean()


def leave(team, user):
    group_leave(group=team.group, user=user)


def test_member_who_leaves_during_the_project_drops_out_of_the_split(ledger_clean):
    team = make_team(members=2, deposit="1000.00")
    proposal = bring_to(team, S.ACCEPTED)
    m1 = team.members[0]
    open_task = task_create(proposal=proposal, actor=team.leader, title="API", assigned_to=m1)
    done_task = task_create(proposal=proposal, actor=team.leader, title="Spec", assigned_to=m1)
    Task.objects.filter(pk=done_task.pk).update(status=Task.Status.DONE)
    leave(team, m1)
    open_task.refresh_from_db()
    done_task.refresh_from_db()
    assert open_task.assigned_to is None
    assert done_task.assigned_to == m1
    ledger_clean()
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    # pool 870.00 between the leader and m2 only.
    assert money_state(team) == expect(
        team,
        buyer=("0.00", "0.00"),
        leader=("465.00", "0.00"),
        m1=("0.00", "0.00"),
        m2=("435.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_member_who_joins_after_acceptance_gets_no_share(ledger_clean):
    team = make_team(members=1, deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    newcomer = UserFactory()
    GroupMembership.objects.create(group=team.group, user=newcomer)
    team.people["newcomer"] = newcomer
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    assert money_state(team) == expect(
        team,
        leader=("465.00", "0.00"),
        m1=("435.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_leadership_transferred_before_confirm_pays_the_new_leader(ledger_clean):
    team = make_team(members=2, deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    team.group.leader = team.members[0]
    team.group.save()
    # The old leader can no longer act as leader; the new one can.
    with pytest.raises(DomainError) as refused:
        services.proposal_cancel(proposal=proposal, actor=team.leader)
    assert refused.value.code == "permission_denied"
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    assert money_state(team) == expect(
        team,
        leader=("290.00", "0.00"),
        m1=("320.00", "0.00"),  # the new leader: 30.00 + 290.00
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


def test_confirm_uses_the_rates_frozen_at_creation(settings, ledger_clean):
    team = make_team(members=0, deposit="1000.00")
    proposal = propose(team, "1000.00")
    settings.PLATFORM_FEE_RATE = Decimal("0.20")
    settings.LEADER_COMMISSION_RATE = Decimal("0.05")
    proposal = services.proposal_accept(proposal=proposal, actor=team.buyer)
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    assert money_state(team) == expect(
        team, leader=("900.00", "0.00"), group=("0.00", "900.00"), platform="100.00"
    )
    ledger_clean()


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS])
def test_cancel_refunds_the_buyer_in_full(status, ledger_clean):
    team = make_team(deposit="1200.00")
    proposal = bring_to(team, status)
    ledger_clean()
    proposal = services.proposal_cancel(proposal=proposal, actor=team.leader)
    assert money_state(team) == expect(team, buyer=("1200.00", "0.00"))
    ledger_clean()
    proposal.refresh_from_db()
    assert (proposal.status, proposal.escrow_amount) == (S.CANCELLED, usd("0.00"))
    assert proposal.cancelled_at is not None
    refund = EscrowTransaction.objects.get(from_hold=proposal.escrow_hold)
    assert (refund.kind, refund.amount) == ("refund", usd("1000.00"))
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_completed_projects) == (None, 0)


# --- events, invariants -------------------------------------------------------------


def test_each_change_announces_itself_after_commit(django_capture_on_commit_callbacks, caplog):
    team = make_team()
    caplog.set_level(logging.INFO, logger="proposals.events")
    with django_capture_on_commit_callbacks(execute=True):
        proposal = propose(team)
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_accept(proposal=proposal, actor=team.buyer)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(DomainError),
    ):
        services.proposal_accept(proposal=proposal, actor=team.buyer)
    assert callbacks == []
    events = [
        (record.proposal_id, record.status)
        for record in caplog.records
        if record.getMessage() == "proposal.changed"
    ]
    assert events == [(proposal.pk, "pending"), (proposal.pk, "accepted")]


def test_the_escrow_invariant_finds_a_proposal_out_of_step():
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    assert proposal_escrow_problems() == []
    Proposal.objects.filter(pk=proposal.pk).update(escrow_amount=Money("999.00", "USD"))
    problems = proposal_escrow_problems()
    assert len(problems) == 1 and f"proposal #{proposal.pk}" in problems[0]
    Proposal.objects.filter(pk=proposal.pk).update(
        escrow_amount=Money("1000.00", "USD"), status=S.COMPLETED
    )
    assert len(proposal_escrow_problems()) == 2  # escrow_amount and the hold both held


def test_the_escrow_invariant_is_part_of_reconcile():
    from escrow.reconcile import find_problems

    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    assert find_problems() == []
    Proposal.objects.filter(pk=proposal.pk).update(status=S.REJECTED)
    assert any(f"proposal #{proposal.pk}" in problem for problem in find_problems())


def test_legacy_proposals_are_left_alone():
    team = make_team()
    proposal = propose(team)
    Proposal.objects.filter(pk=proposal.pk).update(is_legacy=True)
    with pytest.raises(DomainError) as refused:
        services.proposal_accept(proposal=proposal, actor=team.buyer)
    assert refused.value.code == "invalid_transition"
    assert proposal_escrow_problems() == []


# --- concurrency: real threads on PostgreSQL ----------------------------------------


def _codes(results):
    return sorted(
        "ok" if outcome == "ok" else getattr(value, "code", repr(value))
        for outcome, value in results
    )


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_accepts_racing_lock_once(ledger_clean):
    team = make_team(deposit="1500.00")
    proposal = propose(team)
    results = race(
        lambda: services.proposal_accept(proposal=proposal, actor=team.buyer),
        lambda: services.proposal_accept(proposal=proposal, actor=team.buyer),
    )
    assert _codes(results) == ["invalid_transition", "ok"]
    assert EscrowTransaction.objects.filter(kind="escrow_lock").count() == 1
    assert EscrowHold.objects.count() == 1
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    assert [m["status"] for m in system_messages(team.conversation)] == ["pending", "accepted"]
    ledger_clean()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_buyer_with_funds_for_k_of_n_accepts_exactly_k(ledger_clean):
    n, k = 6, 3
    first = make_team(members=0, deposit="350.00")
    buyer = first.buyer
    teams = [first]
    for _ in range(n - 1):
        team = make_team(members=0, deposit=None)
        team.conversation.product_owner = buyer
        team.conversation.save()
        teams.append(team)
    proposals = [propose(team, "100.00") for team in teams]
    results = race(
        *[
            (lambda p=proposal: services.proposal_accept(proposal=p, actor=buyer))
            for proposal in proposals
        ]
    )
    assert _codes(results) == ["insufficient_funds"] * (n - k) + ["ok"] * k
    statuses = sorted(Proposal.objects.values_list("status", flat=True))
    assert statuses == ["accepted"] * k + ["pending"] * (n - k)
    assert user_money(buyer) == (Decimal("50.00"), Decimal("300.00"))
    for team, proposal in zip(teams, proposals, strict=True):
        accepted = Proposal.objects.get(pk=proposal.pk).status == S.ACCEPTED
        held = Decimal("100.00") if accepted else Decimal("0.00")
        assert group_money(team.group) == (held, Decimal("0.00"))
        assert user_money(team.leader) == (Decimal("0.00"), Decimal("0.00"))
    assert platform_revenue() == Decimal("0.00")
    assert EscrowTransaction.objects.filter(kind="escrow_lock").count() == k
    ledger_clean()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_confirms_racing_release_once(ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    results = race(
        lambda: services.proposal_confirm(proposal=proposal, actor=team.buyer),
        lambda: services.proposal_confirm(proposal=proposal, actor=team.buyer),
    )
    assert _codes(results) == ["invalid_transition", "ok"]
    assert money_state(team) == expect(
        team,
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.total_completed_projects == 1
    ledger_clean()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_creates_racing_in_one_conversation_make_one_proposal():
    team = make_team()
    results = race(
        lambda: propose(team, "10.00", title="A"),
        lambda: propose(team, "20.00", title="B"),
    )
    assert _codes(results) == ["ok", "proposal_open"]
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    created = Proposal.objects.get()
    assert conversation.active_proposal_id == created.pk
    assert conversation.total_proposals == 1


# --- auto-release -------------------------------------------------------------------


def test_auto_release_after_the_delay_pays_as_a_confirmation(settings, ledger_clean):
    settings.ESCROW_AUTO_RELEASE_DAYS = 14
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    delivered_at = Proposal.objects.get(pk=proposal.pk).delivered_at
    early = delivered_at + timedelta(days=13, hours=23)
    due = delivered_at + timedelta(days=14)
    assert list(proposals_due_for_auto_release(now=early)) == []
    before = snapshot(team, proposal)
    with pytest.raises(DomainError) as refused:
        services.proposal_auto_release(proposal=proposal, now=early)
    assert (refused.value.code, refused.value.status) == ("auto_release_not_due", 409)
    assert snapshot(team, proposal) == before

    assert list(proposals_due_for_auto_release(now=due)) == [proposal]
    proposal = services.proposal_auto_release(proposal=proposal, now=due)
    assert proposal.status == S.COMPLETED
    assert money_state(team) == expect(
        team,
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_completed_projects) == (None, 1)
    assert system_messages(conversation)[-1]["status"] == "completed"
    assert list(proposals_due_for_auto_release(now=due)) == []


@pytest.mark.parametrize("status", [S.DISPUTED, S.IN_PROGRESS, S.COMPLETED])
def test_auto_release_only_for_delivered_proposals(status, ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, status)
    before = snapshot(team, proposal)
    with pytest.raises(DomainError) as refused:
        services.proposal_auto_release(proposal=proposal, now=timezone.now() + timedelta(days=365))
    assert refused.value.code == "invalid_transition"
    assert snapshot(team, proposal) == before
    ledger_clean()
