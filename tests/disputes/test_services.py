"""Disputes: open, evidence, and each resolution with the exact cents."""

import pytest
from djmoney.money import Money

from disputes.models import Dispute, DisputeMessage
from disputes.services import dispute_add_message, dispute_open, dispute_resolve
from escrow.models import EscrowTransaction
from marketplace.core.errors import DomainError
from marketplace.core.models import Conversation, Message
from proposals import services
from proposals.models import Proposal
from tests.factories import UserFactory, staff_user
from tests.proposals.factories import bring_to, expect, make_team, money_state, propose, race, usd

pytestmark = pytest.mark.django_db
S = Proposal.Status

HELD = {"buyer": ("0.00", "1000.00"), "group": ("1000.00", "0.00")}
# What a 1000.00 release to a leader and two members leaves everywhere.
PAID = {
    "leader": ("320.00", "0.00"),
    "m1": ("290.00", "0.00"),
    "m2": ("290.00", "0.00"),
    "group": ("0.00", "900.00"),
    "platform": "100.00",
}


def refused(call) -> tuple[str, int]:
    with pytest.raises(DomainError) as error:
        call()
    return error.value.code, error.value.status


def statuses(conversation):
    return [
        metadata["status"]
        for metadata in Message.objects.filter(conversation=conversation, sender=None)
        .order_by("id")
        .values_list("metadata", flat=True)
    ]


@pytest.fixture
def staff():
    """The support role, who resolve disputes."""
    return staff_user(None, "support")


@pytest.fixture
def disputed():
    """A delivered 1000.00 proposal (leader + 2 members) that the buyer disputed."""
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="It does not work.")
    return team, proposal, dispute


# --- open ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED])
@pytest.mark.parametrize("who", ["buyer", "leader"])
def test_buyer_or_leader_opens_a_dispute(status, who, ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, status)
    dispute = dispute_open(proposal=proposal, actor=team.people[who], reason="  Late.  ")
    dispute.refresh_from_db()
    assert (dispute.status, dispute.reason, dispute.proposal_status_before) == (
        Dispute.Status.OPEN,
        "Late.",
        status,
    )
    assert dispute.opened_by == team.people[who]
    proposal.refresh_from_db()
    assert proposal.status == S.DISPUTED
    assert proposal.disputed_at is not None
    assert proposal.escrow_amount == usd("1000.00")
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id == proposal.pk
    assert statuses(conversation)[-1] == "disputed"
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


@pytest.mark.parametrize("who", ["m1", "stranger", "staff"])
def test_others_cannot_open_a_dispute(who):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    if who == "stranger":
        actor = UserFactory()
    elif who == "staff":
        actor = UserFactory(is_staff=True)
    else:
        actor = team.people[who]
    call = lambda: dispute_open(proposal=proposal, actor=actor, reason="x")  # noqa: E731
    assert refused(call) == ("permission_denied", 403)
    assert not Dispute.objects.exists()
    assert Proposal.objects.get(pk=proposal.pk).status == S.DELIVERED


@pytest.mark.parametrize(
    "status", [S.PENDING, S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.DISPUTED]
)
def test_no_dispute_in_other_statuses(status, ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, status)
    before = money_state(team)
    disputes = Dispute.objects.count()
    call = lambda: dispute_open(proposal=proposal, actor=team.buyer, reason="x")  # noqa: E731
    assert refused(call) == ("invalid_transition", 409)
    assert Dispute.objects.count() == disputes  # one open dispute per proposal
    assert Proposal.objects.get(pk=proposal.pk).status == status
    assert money_state(team) == before
    ledger_clean()


def test_a_dispute_needs_a_reason():
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    call = lambda: dispute_open(proposal=proposal, actor=team.buyer, reason="  ")  # noqa: E731
    assert refused(call) == ("invalid", 400)
    assert Proposal.objects.get(pk=proposal.pk).status == S.DELIVERED


def test_an_open_dispute_freezes_release_and_refund(disputed, ledger_clean):
    team, proposal, _ = disputed
    assert refused(lambda: services.proposal_confirm(proposal=proposal, actor=team.buyer)) == (
        "invalid_transition",
        409,
    )
    assert refused(lambda: services.proposal_cancel(proposal=proposal, actor=team.leader)) == (
        "invalid_transition",
        409,
    )
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


# --- evidence -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["buyer", "leader", "m1", "staff"])
def test_parties_and_staff_add_evidence(disputed, who, staff):
    team, _, dispute = disputed
    actor = staff if who == "staff" else team.people[who]
    message = dispute_add_message(dispute=dispute, actor=actor, body=" Screenshot attached. ")
    assert (message.dispute_id, message.author, message.body) == (
        dispute.pk,
        actor,
        "Screenshot attached.",
    )


def test_strangers_add_no_evidence(disputed):
    _, _, dispute = disputed
    call = lambda: dispute_add_message(dispute=dispute, actor=UserFactory(), body="hi")  # noqa: E731
    assert refused(call) == ("permission_denied", 403)
    assert not DisputeMessage.objects.exists()


def test_evidence_needs_a_body_and_an_open_dispute(disputed, staff):
    team, _, dispute = disputed
    call = lambda: dispute_add_message(dispute=dispute, actor=team.buyer, body="")  # noqa: E731
    assert refused(call) == ("invalid", 400)
    dispute_resolve(dispute=dispute, actor=staff, outcome="refund", note="Refunded.")
    call = lambda: dispute_add_message(dispute=dispute, actor=team.buyer, body="more")  # noqa: E731
    assert refused(call) == ("dispute_closed", 409)
    assert not DisputeMessage.objects.exists()


# --- resolve ------------------------------------------------------------------------


def resolved(dispute):
    dispute.refresh_from_db()
    return (dispute.status, dispute.outcome, dispute.refund_amount, dispute.resolution_note)


def test_resolve_refund_gives_the_buyer_everything_back(disputed, staff, ledger_clean):
    team, proposal, dispute = disputed
    ledger_clean()
    dispute_resolve(dispute=dispute, actor=staff, outcome="refund", note=" Never delivered. ")
    assert money_state(team) == expect(team, buyer=("1000.00", "0.00"))
    ledger_clean()
    assert resolved(dispute) == ("resolved", "refund", usd("1000.00"), "Never delivered.")
    assert (dispute.resolved_by, dispute.resolved_at is not None) == (staff, True)
    proposal.refresh_from_db()
    assert (proposal.status, proposal.escrow_amount) == (S.REFUNDED, usd("0.00"))
    assert proposal.resolved_at is not None and proposal.completed_at is None
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_completed_projects) == (None, 0)
    assert statuses(conversation)[-2:] == ["disputed", "refunded"]
    refund = EscrowTransaction.objects.get(from_hold=proposal.escrow_hold)
    assert (refund.kind, refund.amount, refund.actor) == ("refund", usd("1000.00"), staff)


def test_resolve_release_pays_the_group_as_a_confirmation_would(disputed, staff, ledger_clean):
    team, proposal, dispute = disputed
    dispute_resolve(dispute=dispute, actor=staff, outcome="release", note="Delivered as agreed.")
    assert money_state(team) == expect(
        team,
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()
    assert resolved(dispute) == ("resolved", "release", None, "Delivered as agreed.")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.escrow_amount) == (S.COMPLETED, usd("0.00"))
    assert proposal.resolved_at is not None and proposal.completed_at is not None
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_completed_projects) == (None, 1)
    assert statuses(conversation)[-2:] == ["disputed", "completed"]


def test_resolve_split_250_of_1000(disputed, staff, ledger_clean):
    team, proposal, dispute = disputed
    dispute_resolve(
        dispute=dispute, actor=staff, outcome="split", note="Half done.", refund_amount=usd("250")
    )
    # 250.00 back; 750.00 released: fee 75.00, commission 22.50, pool 652.50 = 3 x 217.50
    assert money_state(team) == expect(
        team,
        buyer=("250.00", "0.00"),
        leader=("240.00", "0.00"),
        m1=("217.50", "0.00"),
        m2=("217.50", "0.00"),
        group=("0.00", "675.00"),
        platform="75.00",
    )
    ledger_clean()
    assert resolved(dispute) == ("resolved", "split", usd("250.00"), "Half done.")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.escrow_amount) == (S.SETTLED, usd("0.00"))
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_completed_projects) == (None, 0)
    assert statuses(conversation)[-2:] == ["disputed", "settled"]
    legs = EscrowTransaction.objects.filter(from_hold=proposal.escrow_hold)
    assert sorted((leg.kind, str(leg.amount.amount)) for leg in legs) == [
        ("leader_commission", "22.50"),
        ("member_share", "217.50"),
        ("member_share", "217.50"),
        ("member_share", "217.50"),
        ("platform_fee", "75.00"),
        ("refund", "250.00"),
    ]


def test_split_with_odd_cents_to_the_earliest_joiner(staff, ledger_clean):
    team = make_team(deposit="100.01", joined_order=["m1", "leader", "m2"])
    proposal = bring_to(team, S.DELIVERED, price="100.01")
    dispute = dispute_open(proposal=proposal, actor=team.leader, reason="Unpaid.")
    dispute_resolve(
        dispute=dispute, actor=staff, outcome="split", note="", refund_amount=usd("0.01")
    )
    # 100.00 released: fee 10.00, commission 3.00, pool 87.00 = 29.00 x 3
    assert money_state(team) == expect(
        team,
        buyer=("0.01", "0.00"),
        m1=("29.00", "0.00"),
        leader=("32.00", "0.00"),
        m2=("29.00", "0.00"),
        group=("0.00", "90.00"),
        platform="10.00",
    )
    ledger_clean()


@pytest.mark.parametrize("who", ["buyer", "leader", "m1"])
def test_only_staff_resolve(disputed, who, ledger_clean):
    team, proposal, dispute = disputed
    call = lambda: dispute_resolve(  # noqa: E731
        dispute=dispute, actor=team.people[who], outcome="refund", note=""
    )
    assert refused(call) == ("permission_denied", 403)
    assert resolved(dispute) == ("open", "", None, "")
    assert Proposal.objects.get(pk=proposal.pk).status == S.DISPUTED
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


def test_an_inactive_staff_account_cannot_resolve(disputed):
    _, _, dispute = disputed
    retired = staff_user(None, "support", is_active=False)
    call = lambda: dispute_resolve(dispute=dispute, actor=retired, outcome="refund")  # noqa: E731
    assert refused(call) == ("permission_denied", 403)


@pytest.mark.parametrize(
    "amount",
    [
        None,
        usd("0.00"),
        usd("-1.00"),
        usd("1000.00"),
        usd("1000.01"),
        usd("250.001"),
        Money("250.00", "EUR"),
    ],
)
def test_split_needs_an_amount_strictly_inside_the_price(disputed, staff, amount, ledger_clean):
    team, proposal, dispute = disputed
    call = lambda: dispute_resolve(  # noqa: E731
        dispute=dispute, actor=staff, outcome="split", note="", refund_amount=amount
    )
    assert refused(call) == ("invalid_refund_amount", 400)
    assert resolved(dispute) == ("open", "", None, "")
    assert Proposal.objects.get(pk=proposal.pk).status == S.DISPUTED
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


@pytest.mark.parametrize("outcome", ["refund", "release"])
def test_only_a_split_takes_a_refund_amount(disputed, staff, outcome):
    _, _, dispute = disputed
    call = lambda: dispute_resolve(  # noqa: E731
        dispute=dispute, actor=staff, outcome=outcome, refund_amount=usd("10.00")
    )
    assert refused(call) == ("invalid_refund_amount", 400)
    assert resolved(dispute) == ("open", "", None, "")


def test_unknown_outcome(disputed, staff):
    _, _, dispute = disputed
    call = lambda: dispute_resolve(dispute=dispute, actor=staff, outcome="halve")  # noqa: E731
    assert refused(call) == ("invalid_outcome", 400)


def test_a_dispute_is_resolved_once(disputed, staff, ledger_clean):
    team, _, dispute = disputed
    dispute_resolve(dispute=dispute, actor=staff, outcome="refund")
    for outcome in ("refund", "release"):
        call = lambda o=outcome: dispute_resolve(dispute=dispute, actor=staff, outcome=o)  # noqa: E731
        assert refused(call) == ("dispute_closed", 409)
    assert money_state(team) == expect(team, buyer=("1000.00", "0.00"))
    ledger_clean()


def test_after_a_resolution_the_conversation_takes_a_new_proposal(disputed, staff):
    team, _, dispute = disputed
    dispute_resolve(dispute=dispute, actor=staff, outcome="refund")
    fresh = propose(team, "10.00", title="Second try")
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert (conversation.active_proposal_id, conversation.total_proposals) == (fresh.pk, 2)


def test_disputed_from_in_progress_then_released(staff, ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.IN_PROGRESS)
    dispute = dispute_open(proposal=proposal, actor=team.leader, reason="Buyer unresponsive.")
    assert dispute.proposal_status_before == S.IN_PROGRESS
    dispute_resolve(dispute=dispute, actor=staff, outcome="release")
    assert money_state(team) == expect(team, **PAID)
    ledger_clean()


# --- concurrency --------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_confirm_and_dispute_racing_one_wins(ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    results = race(
        lambda: services.proposal_confirm(proposal=proposal, actor=team.buyer),
        lambda: dispute_open(proposal=proposal, actor=team.leader, reason="Wait."),
    )
    outcomes = [outcome for outcome, _ in results]
    assert sorted(outcomes) == ["error", "ok"]
    loser = next(value for outcome, value in results if outcome == "error")
    assert loser.code == "invalid_transition"
    proposal.refresh_from_db()
    if outcomes[0] == "ok":
        assert proposal.status == S.COMPLETED and not Dispute.objects.exists()
        assert money_state(team) == expect(team, **PAID)
    else:
        assert proposal.status == S.DISPUTED and Dispute.objects.count() == 1
        assert money_state(team) == expect(team, **HELD)
    ledger_clean()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_resolutions_racing_resolve_once(ledger_clean):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, S.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Broken.")
    first, second = staff_user(None, "support"), staff_user(None, "support")
    results = race(
        lambda: dispute_resolve(dispute=dispute, actor=first, outcome="refund"),
        lambda: dispute_resolve(dispute=dispute, actor=second, outcome="release"),
    )
    codes = sorted("ok" if o == "ok" else v.code for o, v in results)
    assert codes == ["dispute_closed", "ok"]
    dispute.refresh_from_db()
    if dispute.outcome == "refund":
        assert money_state(team) == expect(team, buyer=("1000.00", "0.00"))
    else:
        assert money_state(team) == expect(team, **PAID)
    assert EscrowTransaction.objects.filter(from_hold__isnull=False).count() in (1, 5)
    ledger_clean()
