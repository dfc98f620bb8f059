"""The proposals API (CONTRACT.md, "Proposals"): every row for the allowed caller, the
refused ones (403), strangers (404), anonymous (401), every 409, the exact cents; and the
rollout gate of every new-workflow endpoint."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from waffle.models import Flag

from escrow.models import EscrowTransaction
from marketplace.core.models import Conversation, Message
from marketplace.core.services import group_leave
from proposals import services
from proposals.models import Proposal
from tests.api.conftest import ABSURD_AMOUNTS
from tests.factories import ConversationFactory, GroupFactory, UserFactory
from tests.proposals.factories import (
    bring_to,
    expect,
    fund,
    make_team,
    money_state,
    propose,
    usd,
)

pytestmark = pytest.mark.django_db
S = Proposal.Status
BAD_PRICES = [
    "10.001", "0", "0.00", "-5", "abc", 12.5, "1000000.01", "NaN", "", True, *ABSURD_AMOUNTS
]  # fmt: skip
ACTION_ROLES = {
    "accept": "buyer",
    "reject": "buyer",
    "withdraw": "leader",
    "start": "leader",
    "deliver": "leader",
    "request-changes": "buyer",
    "confirm": "buyer",
    "cancel": "leader",
}
# action -> the statuses it is allowed from (CONTRACT.md); any other → 409.
ACTION_SOURCES = {
    "accept": {S.PENDING},
    "reject": {S.PENDING},
    "withdraw": {S.PENDING},
    "start": {S.ACCEPTED},
    "deliver": {S.ACCEPTED, S.IN_PROGRESS},
    "request-changes": {S.DELIVERED},
    "confirm": {S.DELIVERED},
    "cancel": {S.ACCEPTED, S.IN_PROGRESS},
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


@pytest.fixture
def team():
    """A buyer with 1500.00, a leader and two members (m1, m2)."""
    return make_team(members=2, deposit="1500.00")


@pytest.fixture
def stranger():
    return UserFactory(username="stranger")


@pytest.fixture
def staff():
    return UserFactory(username="staffer", is_staff=True)


def iso(moment):
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def create(client, conversation, price="1000.00", url="/api/proposals/create", **extra):
    body = {
        "conversation_id": conversation.pk,
        "title": "Build the shop",
        "description": "All of it.",
        "price": price,
        **extra,
    }
    return client.post(url, body, format="json")


def act(client, proposal, action, body=None, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"/api/proposals/{proposal.pk}/{action}", body or {}, format="json", **headers
    )


def body_for(action):
    return {"note": "Bigger logo, please."} if action == "request-changes" else None


def expected_body(proposal: Proposal) -> dict:
    proposal.refresh_from_db()
    auto_release_at = None
    if proposal.status == S.DELIVERED:
        auto_release_at = iso(proposal.delivered_at + timedelta(days=14))
    return {
        "id": proposal.pk,
        "conversation_id": proposal.conversation_id,
        "group_id": proposal.conversation.group_id,
        "title": proposal.title,
        "description": proposal.description,
        "status": proposal.status,
        "price": f"{proposal.price.amount:.2f}",
        "currency": str(proposal.price.currency),
        "platform_fee": f"{proposal.platform_fee.amount:.2f}",
        "leader_commission": f"{proposal.leader_commission.amount:.2f}",
        "member_pool": f"{proposal.member_pool.amount:.2f}",
        "escrow_amount": f"{proposal.escrow_amount.amount:.2f}",
        "platform_fee_rate": "0.1000",
        "leader_commission_rate": "0.0300",
        "due_date": proposal.due_date.isoformat() if proposal.due_date else None,
        "pool_split": proposal.pool_split,
        "is_legacy": proposal.is_legacy,
        "created_at": iso(proposal.created_at),
        "accepted_at": iso(proposal.accepted_at),
        "started_at": iso(proposal.started_at),
        "delivered_at": iso(proposal.delivered_at),
        "completed_at": iso(proposal.completed_at),
        "rejected_at": iso(proposal.rejected_at),
        "withdrawn_at": iso(proposal.withdrawn_at),
        "cancelled_at": iso(proposal.cancelled_at),
        "disputed_at": iso(proposal.disputed_at),
        "resolved_at": iso(proposal.resolved_at),
        "auto_release_at": auto_release_at,
    }


def caller(team, role, stranger=None, staff=None):
    return {
        "buyer": team.buyer,
        "leader": team.leader,
        "m1": team.members[0],
        "stranger": stranger,
        "staff": staff,
    }[role]


def proposal_messages(conversation):
    return list(
        Message.objects.filter(conversation=conversation, sender=None)
        .order_by("id")
        .values_list("metadata", flat=True)
    )


# --- create -------------------------------------------------------------------------


def test_the_leader_creates_a_pending_proposal_with_the_fee_breakdown(
    client_for, team, ledger_clean
):
    response = create(client_for(team.leader), team.conversation)

    assert response.status_code == 201
    proposal = Proposal.objects.get()
    assert response.json() == expected_body(proposal)
    body = response.json()
    assert body["status"] == "pending"
    assert (body["price"], body["currency"]) == ("1000.00", "USD")
    assert (body["platform_fee"], body["leader_commission"], body["member_pool"]) == (
        "100.00",
        "30.00",
        "870.00",
    )
    assert body["escrow_amount"] == "0.00"
    assert body["auto_release_at"] is None
    team.conversation.refresh_from_db()
    assert team.conversation.active_proposal_id == proposal.pk
    assert team.conversation.total_proposals == 1
    assert proposal_messages(team.conversation) == [
        {"type": "proposal", "proposal_id": proposal.pk, "status": "pending"}
    ]
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


@pytest.mark.parametrize("url", ["/api/proposals/create/", "/api/proposals", "/api/proposals/"])
def test_create_through_the_alias_and_trailing_slashes(client_for, team, url):
    response = create(client_for(team.leader), team.conversation, url=url)

    assert response.status_code == 201
    assert response.json()["id"] == Proposal.objects.get().pk


def test_fees_round_half_up_and_the_pool_takes_the_rest(client_for, team):
    body = create(client_for(team.leader), team.conversation, price="333.35").json()

    # 33.335 → 33.34; 10.0005 → 10.00; 333.35 - 33.34 - 10.00 = 290.01
    assert (body["platform_fee"], body["leader_commission"], body["member_pool"]) == (
        "33.34",
        "10.00",
        "290.01",
    )


def test_create_with_currency_and_due_date(client_for, team):
    response = create(
        client_for(team.leader),
        team.conversation,
        price="50",
        currency="USD",
        due_date="2031-05-01",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["price"], body["currency"], body["due_date"]) == ("50.00", "USD", "2031-05-01")
    assert body["escrow_amount"] == "0.00"


def test_a_currency_the_buyers_wallet_cannot_pay_is_refused_at_creation(client_for, team):
    # Wallets hold USD: a EUR proposal could never be accepted, and would hold the
    # conversation's only open slot.
    response = create(client_for(team.leader), team.conversation, price="50", currency="EUR")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "currency_mismatch"
    assert list(error["fields"]) == ["currency"]
    assert not Proposal.objects.exists()
    assert create(client_for(team.leader), team.conversation, price="50").status_code == 201


@pytest.mark.parametrize("price", BAD_PRICES)
def test_create_refuses_invalid_prices_naming_the_field(client_for, team, price):
    response = create(client_for(team.leader), team.conversation, price=price)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_amount"
    assert list(error["fields"]) == ["price"]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": None}, "price"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"conversation_id": "abc"}, "conversation_id"),
        ({"conversation_id": 0}, "conversation_id"),
        ({"currency": "XYZ"}, "currency"),
        ({"due_date": "tomorrow"}, "due_date"),
    ],
)
def test_create_names_the_invalid_field(client_for, team, change, field):
    body = {"conversation_id": team.conversation.pk, "title": "T", "price": "10.00", **change}

    response = client_for(team.leader).post("/api/proposals/create", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Proposal.objects.exists()


def test_create_missing_fields_are_named(client_for, team):
    response = client_for(team.leader).post("/api/proposals/create", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"conversation_id", "title", "price"}


@pytest.mark.parametrize("role", ["buyer", "m1"])
def test_only_the_leader_creates(client_for, team, role):
    response = create(client_for(caller(team, role)), team.conversation)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Proposal.objects.exists()


def test_strangers_and_unknown_conversations_get_404(client_for, team, stranger):
    other_group_leader = GroupFactory().leader  # leads a group, but not this one

    for user in (stranger, other_group_leader):
        response = create(client_for(user), team.conversation)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    unknown = Conversation(pk=team.conversation.pk + 1000)
    assert create(client_for(team.leader), unknown).status_code == 404
    assert not Proposal.objects.exists()


def test_create_needs_credentials(anon, team):
    response = create(anon, team.conversation)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not Proposal.objects.exists()


@pytest.mark.parametrize("status", [S.PENDING, S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED, S.DISPUTED])
def test_one_open_proposal_per_conversation(client_for, team, status, ledger_clean):
    bring_to(team, status)

    response = create(client_for(team.leader), team.conversation, price="5.00")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "proposal_open"
    assert Proposal.objects.count() == 1
    ledger_clean()


@pytest.mark.parametrize("status", [S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.CANCELLED])
def test_a_closed_proposal_makes_room_for_the_next(client_for, team, status):
    bring_to(team, status)

    response = create(client_for(team.leader), team.conversation, price="5.00")

    assert response.status_code == 201
    team.conversation.refresh_from_db()
    assert team.conversation.active_proposal_id == response.json()["id"]
    assert team.conversation.total_proposals == 2


# --- read ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "leader", "m1"])
def test_participants_read_a_proposal(client_for, team, role):
    proposal = bring_to(team, S.DELIVERED)

    response = client_for(caller(team, role)).get(f"/api/proposals/{proposal.pk}")

    assert response.status_code == 200
    body = response.json()
    sharers = [team.leader, *team.members]
    assert body.pop("pool_shares") == [
        {"user": {"id": user.pk, "username": user.username}, "points": None, "share": "290.00"}
        for user in sharers
    ]
    assert body == expected_body(proposal)
    assert body["status"] == "delivered"
    assert body["escrow_amount"] == "1000.00"
    assert body["auto_release_at"] == iso(proposal.delivered_at + timedelta(days=14))


def test_auto_release_at_follows_the_setting(client_for, team, settings):
    settings.ESCROW_AUTO_RELEASE_DAYS = 3
    proposal = bring_to(team, S.DELIVERED)

    body = client_for(team.buyer).get(f"/api/proposals/{proposal.pk}/").json()

    assert body["auto_release_at"] == iso(proposal.delivered_at + timedelta(days=3))


def test_staff_without_a_part_in_it_do_not_see_a_proposal(client_for, team, staff):
    # CONTRACT.md: proposals are their participants'; staff read them in the admin.
    proposal = bring_to(team, S.DELIVERED)

    for path in (f"/api/proposals/{proposal.pk}", f"/api/tasks?proposal_id={proposal.pk}"):
        response = client_for(staff).get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert client_for(staff).get("/api/proposals").json()["count"] == 0


def test_strangers_former_members_and_unknown_ids_get_404(client_for, anon, team, stranger):
    proposal = bring_to(team, S.PENDING)
    leaver = team.members[1]
    group_leave(group=team.group, user=leaver)

    for user in (stranger, leaver):
        response = client_for(user).get(f"/api/proposals/{proposal.pk}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client_for(team.buyer).get(f"/api/proposals/{proposal.pk + 1}").status_code == 404
    assert anon.get(f"/api/proposals/{proposal.pk}").status_code == 401
    assert anon.get("/api/proposals").status_code == 401


def test_the_list_shows_the_callers_proposals_newest_first(client_for, team, stranger):
    first = bring_to(team, S.REJECTED)
    second = bring_to(team, S.PENDING)
    other = make_team(members=0)
    elsewhere = propose(other)  # another conversation the caller is not in

    for user in (team.buyer, team.leader, team.members[0]):
        body = client_for(user).get("/api/proposals").json()
        assert body["count"] == 2
        assert [row["id"] for row in body["results"]] == [second.pk, first.pk]
        assert body["results"][0] == expected_body(second)
    assert client_for(stranger).get("/api/proposals").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert [r["id"] for r in client_for(other.buyer).get("/api/proposals").json()["results"]] == [
        elsewhere.pk
    ]


def test_the_list_filters_by_conversation(client_for, team):
    mine = bring_to(team, S.PENDING)
    second_conversation = ConversationFactory(group=team.group)
    other = services.proposal_create(
        conversation=second_conversation, actor=team.leader, title="Other", price=usd("5.00")
    )
    leader = client_for(team.leader)

    everything = leader.get("/api/proposals").json()
    only_first = leader.get(f"/api/proposals?conversation_id={team.conversation.pk}").json()
    unknown = leader.get("/api/proposals?conversation_id=999999999").json()

    assert [row["id"] for row in everything["results"]] == [other.pk, mine.pk]
    assert [row["id"] for row in only_first["results"]] == [mine.pk]
    assert unknown["count"] == 0
    bad = leader.get("/api/proposals?conversation_id=abc")
    assert bad.status_code == 400
    assert list(bad.json()["error"]["fields"]) == ["conversation_id"]


def test_the_list_is_paginated(client_for, team):
    for _ in range(21):
        bring_to(team, S.REJECTED, price="1.00")

    first = client_for(team.buyer).get("/api/proposals").json()

    assert first["count"] == 21
    assert len(first["results"]) == 20
    assert len(client_for(team.buyer).get(first["next"]).json()["results"]) == 1


def test_the_list_costs_the_same_queries_for_2_and_10_proposals(client_for, team):
    client = client_for(team.buyer)

    def queries(total):
        while Proposal.objects.count() < total:
            bring_to(team, S.REJECTED, price="1.00")
        client.get("/api/proposals")  # warm up: the rollout flag is then in the cache
        with CaptureQueriesContext(connection) as context:
            assert len(client.get("/api/proposals").json()["results"]) == total
        return len(context)

    assert queries(2) == queries(10)


# --- accept -------------------------------------------------------------------------


def test_the_buyer_accepts_and_the_price_is_locked_in_escrow(client_for, team, ledger_clean):
    proposal = propose(team)

    response = act(client_for(team.buyer), proposal, "accept")

    assert response.status_code == 200
    body = response.json()
    assert body == expected_body(proposal)
    assert (body["status"], body["escrow_amount"]) == ("accepted", "1000.00")
    assert body["accepted_at"] is not None
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    assert sorted(proposal.participants.values_list("pk", flat=True)) == sorted(
        [team.leader.pk, *(m.pk for m in team.members)]
    )
    assert proposal_messages(team.conversation)[-1] == {
        "type": "proposal",
        "proposal_id": proposal.pk,
        "status": "accepted",
    }
    ledger_clean()


def test_accept_without_enough_money_is_409_and_changes_nothing(client_for, ledger_clean):
    team = make_team(members=1, deposit="999.99")
    proposal = propose(team)

    response = act(client_for(team.buyer), proposal, "accept")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_funds"
    assert "999.99" in error["message"]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.escrow_amount.amount) == (S.PENDING, 0)
    assert money_state(team) == expect(team, buyer=("999.99", "0.00"))
    assert not EscrowTransaction.objects.filter(kind="escrow_lock").exists()
    assert proposal_messages(team.conversation) == [
        {"type": "proposal", "proposal_id": proposal.pk, "status": "pending"}
    ]
    ledger_clean()


def test_accept_with_an_idempotency_key_replays_without_a_second_lock(
    client_for, team, ledger_clean
):
    proposal = propose(team)
    buyer = client_for(team.buyer)

    first = act(buyer, proposal, "accept", key="accept-1")
    second = act(buyer, proposal, "accept", key="accept-1")
    reused = act(buyer, proposal, "accept", body={"note": "other"}, key="accept-1")
    elsewhere = act(buyer, proposal, "confirm", key="accept-1")
    fresh = act(buyer, proposal, "accept", key="accept-2")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    for refused in (reused, elsewhere):
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    # Another key is another request: the proposal is no longer pending.
    assert fresh.status_code == 409
    assert fresh.json()["error"]["code"] == "invalid_transition"
    assert EscrowTransaction.objects.filter(kind="escrow_lock").count() == 1
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


def test_a_refused_accept_can_be_retried_under_the_same_key(client_for, ledger_clean):
    team = make_team(members=1, deposit="10.00")
    proposal = propose(team)
    buyer = client_for(team.buyer)

    assert act(buyer, proposal, "accept", key="k").status_code == 409
    fund(team.buyer, "990.00")
    assert act(buyer, proposal, "accept", key="k").status_code == 200

    assert money_state(team) == expect(team, buyer=("0.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


def test_an_invalid_idempotency_key_is_400(client_for, team):
    proposal = propose(team)

    response = act(client_for(team.buyer), proposal, "accept", key="ü" * 3)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert Proposal.objects.get().status == S.PENDING


# --- the other transitions ----------------------------------------------------------


def test_the_buyer_rejects(client_for, team, ledger_clean):
    proposal = propose(team)

    response = act(client_for(team.buyer), proposal, "reject")

    assert response.status_code == 200
    assert response.json() == expected_body(proposal)
    assert response.json()["status"] == "rejected"
    assert response.json()["rejected_at"] is not None
    team.conversation.refresh_from_db()
    assert team.conversation.active_proposal_id is None
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_the_leader_withdraws(client_for, team):
    proposal = propose(team)

    response = act(client_for(team.leader), proposal, "withdraw/")

    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert response.json()["withdrawn_at"] is not None


def test_the_leader_starts_then_delivers(client_for, team, ledger_clean):
    proposal = bring_to(team, S.ACCEPTED)
    leader = client_for(team.leader)

    started = act(leader, proposal, "start")
    delivered = act(leader, proposal, "deliver")

    assert started.status_code == 200
    assert started.json()["status"] == "in_progress"
    assert started.json()["started_at"] is not None
    assert delivered.status_code == 200
    assert delivered.json() == expected_body(proposal)
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["auto_release_at"] == iso(proposal.delivered_at + timedelta(days=14))
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


def test_the_leader_delivers_straight_from_accepted(client_for, team):
    proposal = bring_to(team, S.ACCEPTED)

    response = act(client_for(team.leader), proposal, "deliver")

    assert response.status_code == 200
    assert response.json()["status"] == "delivered"


def test_the_buyer_requests_changes_with_a_note_in_the_chat(client_for, team, ledger_clean):
    proposal = bring_to(team, S.DELIVERED)

    response = act(client_for(team.buyer), proposal, "request-changes", {"note": "Bigger logo."})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["auto_release_at"], body["escrow_amount"]) == (
        "in_progress",
        None,
        "1000.00",
    )
    last = Message.objects.filter(conversation=team.conversation).latest("id")
    assert "Bigger logo." in last.body
    assert last.metadata == {
        "type": "proposal",
        "proposal_id": proposal.pk,
        "status": "in_progress",
    }
    ledger_clean()


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": None}])
def test_request_changes_needs_a_note(client_for, team, body):
    proposal = bring_to(team, S.DELIVERED)

    response = act(client_for(team.buyer), proposal, "request-changes", body or {"x": 1})

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["note"]
    assert Proposal.objects.get().status == S.DELIVERED


def test_the_buyer_confirms_and_the_escrow_is_paid_out(client_for, team, ledger_clean):
    proposal = bring_to(team, S.DELIVERED)

    response = act(client_for(team.buyer), proposal, "confirm")

    assert response.status_code == 200
    body = response.json()
    assert body == expected_body(proposal)
    assert (body["status"], body["escrow_amount"], body["auto_release_at"]) == (
        "completed",
        "0.00",
        None,
    )
    # 1000.00: platform 100.00, leader 30.00, pool 870.00 = 3 x 290.00
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    team.conversation.refresh_from_db()
    assert team.conversation.total_completed_projects == 1
    assert team.conversation.active_proposal_id is None
    ledger_clean()


def test_confirm_splits_odd_cents_by_order_of_joining(client_for, ledger_clean):
    team = make_team(members=2, deposit="100.01", joined_order=["m2", "leader", "m1"])
    proposal = bring_to(team, S.DELIVERED, price="100.01")

    assert act(client_for(team.buyer), proposal, "confirm").status_code == 200

    # fee 10.00 (10.001), commission 3.00 (3.0003), pool 87.01 = 29.01 + 29.00 + 29.00,
    # the leftover cent to m2, who joined first.
    assert money_state(team) == expect(
        team,
        buyer=("0.00", "0.00"),
        leader=("32.00", "0.00"),
        m1=("29.00", "0.00"),
        m2=("29.01", "0.00"),
        group=("0.00", "90.01"),
        platform="10.00",
    )
    ledger_clean()


def test_confirm_with_an_idempotency_key_releases_once(client_for, team, ledger_clean):
    proposal = bring_to(team, S.DELIVERED)
    buyer = client_for(team.buyer)

    first = act(buyer, proposal, "confirm", key="confirm-1")
    second = act(buyer, proposal, "confirm/", key="confirm-1")
    reused = act(buyer, proposal, "confirm", body={"x": 1}, key="confirm-1")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert EscrowTransaction.objects.filter(kind="platform_fee").count() == 1
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),
        platform="100.00",
    )
    ledger_clean()


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS])
def test_the_leader_cancels_and_the_buyer_gets_everything_back(
    client_for, team, status, ledger_clean
):
    proposal = bring_to(team, status)

    response = act(client_for(team.leader), proposal, "cancel", key="cancel-1")
    replay = act(client_for(team.leader), proposal, "cancel", key="cancel-1")

    assert response.status_code == 200
    assert response.json() == expected_body(proposal)
    assert (response.json()["status"], response.json()["escrow_amount"]) == ("cancelled", "0.00")
    assert replay.json() == response.json()
    assert EscrowTransaction.objects.filter(kind="refund").count() == 1
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_cancel_key_reused_with_another_body_is_409(client_for, team, ledger_clean):
    proposal = bring_to(team, S.ACCEPTED)
    leader = client_for(team.leader)

    assert act(leader, proposal, "cancel", key="c").status_code == 200
    reused = act(leader, proposal, "cancel", body={"reason": "changed"}, key="c")

    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


# --- refusals: every action, every wrong caller, every wrong status ----------------


def _state_of(proposal):
    proposal.refresh_from_db()
    return proposal.status, proposal.escrow_amount.amount


@pytest.mark.parametrize("action", list(ACTION_ROLES))
def test_each_action_refuses_the_wrong_participants_with_403(
    client_for, team, staff, action, ledger_clean
):
    allowed = ACTION_ROLES[action]
    source = sorted(ACTION_SOURCES[action])[0]
    proposal = bring_to(team, source)
    before, money = _state_of(proposal), money_state(team)
    refused = [role for role in ("buyer", "leader", "m1") if role != allowed]

    for role in refused:
        response = act(client_for(caller(team, role)), proposal, action, body_for(action))
        assert response.status_code == 403, (role, response.json())
        assert response.json()["error"]["code"] == "permission_denied"
    # Staff without a part in the proposal do not see it at all.
    assert act(client_for(staff), proposal, action, body_for(action)).status_code == 404

    assert _state_of(proposal) == before
    assert money_state(team) == money
    ledger_clean()


@pytest.mark.parametrize("action", list(ACTION_ROLES))
def test_each_action_is_404_for_strangers_and_unknown_ids_and_401_anonymous(
    client_for, anon, team, stranger, action
):
    source = sorted(ACTION_SOURCES[action])[0]
    proposal = bring_to(team, source)
    before = _state_of(proposal)

    response = act(client_for(stranger), proposal, action, body_for(action))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    allowed = client_for(caller(team, ACTION_ROLES[action]))
    assert act(allowed, Proposal(pk=proposal.pk + 100), action, body_for(action)).status_code == 404
    anonymous = act(anon, proposal, action, body_for(action))
    assert anonymous.status_code == 401
    assert _state_of(proposal) == before


@pytest.mark.parametrize("action", list(ACTION_ROLES))
def test_each_action_is_409_invalid_transition_from_every_other_status(
    client_for, action, ledger_clean
):
    for status in REACHABLE:
        if status in ACTION_SOURCES[action]:
            continue
        team = make_team(members=1)
        proposal = bring_to(team, status)
        before, money = _state_of(proposal), money_state(team)

        response = act(
            client_for(caller(team, ACTION_ROLES[action])), proposal, action, body_for(action)
        )

        assert response.status_code == 409, (status, response.json())
        assert response.json()["error"]["code"] == "invalid_transition"
        assert _state_of(proposal) == before
        assert money_state(team) == money
    ledger_clean()


def test_a_disputed_proposal_cannot_be_confirmed_or_cancelled(client_for, team, ledger_clean):
    proposal = bring_to(team, S.DISPUTED)

    for client, action in (
        (client_for(team.buyer), "confirm"),
        (client_for(team.leader), "cancel"),
    ):
        response = act(client, proposal, action, key=f"k-{action}")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_transition"

    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


def test_a_legacy_proposal_is_readable_but_frozen(client_for, team):
    proposal = propose(team)
    Proposal.objects.filter(pk=proposal.pk).update(is_legacy=True)

    read = client_for(team.buyer).get(f"/api/proposals/{proposal.pk}")
    accept = act(client_for(team.buyer), proposal, "accept")

    assert read.json()["is_legacy"] is True
    assert accept.status_code == 409
    assert accept.json()["error"]["code"] == "invalid_transition"


# --- the rollout gate ---------------------------------------------------------------

NEW_WORKFLOW_CALLS = [
    ("get", "/api/proposals"),
    ("post", "/api/proposals"),
    ("post", "/api/proposals/create"),
    ("get", "/api/proposals/{proposal}"),
    *[("post", f"/api/proposals/{{proposal}}/{action}") for action in ACTION_ROLES],
    ("get", "/api/tasks?proposal_id={proposal}"),
    ("post", "/api/tasks"),
    ("post", "/api/tasks/create"),
    ("patch", "/api/tasks/1"),
    ("post", "/api/disputes"),
    ("post", "/api/disputes/create"),
    ("get", "/api/disputes/1"),
    ("post", "/api/disputes/1/messages"),
    ("post", "/api/disputes/1/resolve"),
]


@pytest.fixture
def switch_new_workflow(django_capture_on_commit_callbacks):
    """Turn the flag (created on by a data migration) on or off for everyone, as the
    admin does: save() drops waffle's cached copy once the change commits."""

    def switch(everyone):
        flag = Flag.objects.get(name="new_workflow")
        flag.everyone = everyone
        with django_capture_on_commit_callbacks(execute=True):
            flag.save()
        return flag

    return switch


@pytest.mark.parametrize(("method", "path"), NEW_WORKFLOW_CALLS)
def test_new_workflow_endpoints_are_403_while_the_flag_is_off(
    client_for, anon, team, switch_new_workflow, method, path
):
    proposal = propose(team)
    url = path.format(proposal=proposal.pk)
    switch_new_workflow(False)

    response = getattr(client_for(team.leader), method)(url, {}, format="json")
    anonymous = getattr(anon, method)(url, {}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "new_workflow_disabled"
    assert anonymous.status_code == 401  # authentication first
    assert _state_of(proposal)[0] == S.PENDING


def test_legacy_projects_keep_working_while_the_flag_is_off(client_for, team, switch_new_workflow):
    switch_new_workflow(False)
    client = client_for(team.buyer)

    assert client.get("/api/projects").status_code == 200
    assert client.get("/api/proposals").status_code == 403
    switch_new_workflow(True)
    assert client.get("/api/proposals").status_code == 200


def test_the_flag_on_for_one_user_only(client_for, team, switch_new_workflow):
    switch_new_workflow(None).users.add(team.buyer)

    assert client_for(team.buyer).get("/api/proposals").status_code == 200
    refused = client_for(team.leader).get("/api/proposals")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "new_workflow_disabled"
