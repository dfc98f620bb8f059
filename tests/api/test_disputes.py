"""The disputes API (CONTRACT.md, "Disputes"): the buyer or the leader opens, the parties
and staff exchange evidence, staff resolve (refund, release, split) with exact cents."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disputes.models import Dispute, DisputeMessage
from disputes.services import dispute_add_message, dispute_open, dispute_resolve
from escrow.models import EscrowTransaction
from marketplace.core.models import Message
from marketplace.core.services import group_leave
from proposals.models import Proposal
from tests.factories import UserFactory, staff_user
from tests.proposals.factories import bring_to, expect, make_team, money_state, usd

pytestmark = pytest.mark.django_db
S = Proposal.Status
HELD = {"buyer": ("500.00", "1000.00"), "group": ("1000.00", "0.00")}
# 1000.00 released: platform 100.00, leader 30.00 + 290.00, m1 and m2 290.00 each.
RELEASED = {
    "buyer": ("500.00", "0.00"),
    "leader": ("320.00", "0.00"),
    "m1": ("290.00", "0.00"),
    "m2": ("290.00", "0.00"),
    "group": ("0.00", "900.00"),
    "platform": "100.00",
}


@pytest.fixture
def team():
    return make_team(members=2, deposit="1500.00")


@pytest.fixture
def staff():
    """The support role, who resolve disputes."""
    return staff_user("arbiter", "support")


@pytest.fixture
def stranger():
    return UserFactory(username="stranger")


@pytest.fixture
def dispute(team):
    proposal = bring_to(team, S.DELIVERED)
    return dispute_open(proposal=proposal, actor=team.buyer, reason="Not what we agreed.")


def iso(moment):
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def ref(user):
    return None if user is None else {"id": user.pk, "username": user.username}


def expected_dispute(dispute: Dispute) -> dict:
    dispute.refresh_from_db()
    refund, suggested = dispute.refund_amount, dispute.suggested_refund_amount
    return {
        "id": dispute.pk,
        "proposal_id": dispute.proposal_id,
        "opened_by": ref(dispute.opened_by),
        "reason": dispute.reason,
        "status": dispute.status,
        "outcome": dispute.outcome or None,
        "refund_amount": None if refund is None else f"{refund.amount:.2f}",
        "currency": "USD",
        "resolution_note": dispute.resolution_note,
        "resolved_by": ref(dispute.resolved_by),
        "created_at": iso(dispute.created_at),
        "resolved_at": iso(dispute.resolved_at),
        "messages": [
            {
                "id": message.pk,
                "author": ref(message.author),
                "body": message.body,
                "created_at": iso(message.created_at),
            }
            for message in dispute.messages.order_by("created_at", "id")
        ],
        "suggested_refund_amount": None if suggested is None else f"{suggested.amount:.2f}",
        "evidence": [
            {
                "kind": item.kind,
                "topic": item.topic,
                "occurred_at": iso(item.occurred_at),
                "data": item.data,
            }
            for item in dispute.evidence_items.all()
        ],
    }


def open_dispute(client, proposal, url="/api/disputes/create", reason="It does not work."):
    return client.post(url, {"proposal_id": proposal.pk, "reason": reason}, format="json")


def resolve(client, dispute, key=None, **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    body.setdefault("note", "Looked at the evidence.")
    return client.post(f"/api/disputes/{dispute.pk}/resolve", body, format="json", **headers)


def proposal_status(dispute):
    return Proposal.objects.get(pk=dispute.proposal_id).status


# --- open ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED])
@pytest.mark.parametrize("who", ["buyer", "leader"])
def test_the_buyer_or_the_leader_opens_a_dispute_and_the_escrow_freezes(
    client_for, team, status, who, ledger_clean
):
    proposal = bring_to(team, status)

    response = open_dispute(client_for(team.people[who]), proposal)

    assert response.status_code == 201
    dispute = Dispute.objects.get()
    assert response.json() == expected_dispute(dispute)
    body = response.json()
    assert (body["status"], body["outcome"], body["refund_amount"]) == ("open", None, None)
    assert body["opened_by"] == ref(team.people[who])
    assert body["messages"] == []
    proposal.refresh_from_db()
    assert (proposal.status, proposal.escrow_amount.amount) == (S.DISPUTED, 1000)
    assert dispute.proposal_status_before == status
    last = Message.objects.filter(conversation=team.conversation).latest("id")
    assert last.metadata == {"type": "proposal", "proposal_id": proposal.pk, "status": "disputed"}
    assert money_state(team) == expect(team, **HELD)
    # Frozen: the buyer can no longer confirm.
    confirm = client_for(team.buyer).post(f"/api/proposals/{proposal.pk}/confirm")
    assert confirm.status_code == 409
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


@pytest.mark.parametrize("url", ["/api/disputes", "/api/disputes/", "/api/disputes/create/"])
def test_open_through_the_alias_and_trailing_slashes(client_for, team, url):
    proposal = bring_to(team, S.IN_PROGRESS)

    response = open_dispute(client_for(team.buyer), proposal, url=url)

    assert response.status_code == 201
    assert response.json()["id"] == Dispute.objects.get().pk


@pytest.mark.parametrize(
    ("who", "status", "code"), [("m1", 403, "permission_denied"), ("staff", 404, "not_found")]
)
def test_members_and_staff_cannot_open(client_for, team, staff, who, status, code):
    # A member sees the proposal but may not dispute it; support staff do not even see
    # it through the API (proposals are the participants' own, CONTRACT.md).
    proposal = bring_to(team, S.DELIVERED)
    user = staff if who == "staff" else team.people[who]

    response = open_dispute(client_for(user), proposal)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Dispute.objects.exists()
    assert Proposal.objects.get().status == S.DELIVERED


def test_open_is_404_for_strangers_and_unknown_proposals_401_anonymous(
    client_for, anon, team, stranger
):
    proposal = bring_to(team, S.DELIVERED)

    assert open_dispute(client_for(stranger), proposal).status_code == 404
    assert open_dispute(client_for(team.buyer), Proposal(pk=proposal.pk + 7)).status_code == 404
    assert open_dispute(anon, proposal).status_code == 401
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    "status",
    [S.PENDING, S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.DISPUTED],
)
def test_open_is_409_outside_accepted_in_progress_delivered(client_for, status, ledger_clean):
    team = make_team(members=1)
    proposal = bring_to(team, status)
    before = Dispute.objects.count()

    response = open_dispute(client_for(team.buyer), proposal)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert Dispute.objects.count() == before
    ledger_clean()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": None}, "reason"),
        ({"reason": "x" * 5001}, "reason"),
        ({"proposal_id": "abc"}, "proposal_id"),
    ],
)
def test_open_names_the_invalid_field(client_for, team, body, field):
    proposal = bring_to(team, S.DELIVERED)

    response = client_for(team.buyer).post(
        "/api/disputes/create", {"proposal_id": proposal.pk, "reason": "r", **body}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Dispute.objects.exists()


# --- read ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["buyer", "leader", "m1", "m2", "staff"])
def test_parties_and_staff_read_the_dispute_with_its_evidence(
    client_for, team, staff, dispute, who
):
    dispute_add_message(dispute=dispute, actor=team.buyer, body="Screenshots attached.")
    dispute_add_message(dispute=dispute, actor=team.members[0], body="It works on my side.")
    user = staff if who == "staff" else team.people[who]

    response = client_for(user).get(f"/api/disputes/{dispute.pk}")

    assert response.status_code == 200
    assert response.json() == expected_dispute(dispute)
    assert [m["body"] for m in response.json()["messages"]] == [
        "Screenshots attached.",
        "It works on my side.",
    ]


def test_read_is_404_for_strangers_leavers_and_unknown_ids_401_anonymous(
    client_for, anon, team, stranger, dispute
):
    leaver = team.members[1]
    group_leave(group=team.group, user=leaver)

    for user in (stranger, leaver):
        response = client_for(user).get(f"/api/disputes/{dispute.pk}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client_for(team.buyer).get(f"/api/disputes/{dispute.pk + 1}/").status_code == 404
    assert anon.get(f"/api/disputes/{dispute.pk}").status_code == 401


def test_reading_costs_the_same_queries_for_2_and_10_messages(client_for, team, dispute):
    client = client_for(team.buyer)
    url = f"/api/disputes/{dispute.pk}"
    authors = [team.buyer, team.leader, *team.members]

    def queries(total):
        while DisputeMessage.objects.count() < total:
            count = DisputeMessage.objects.count()
            dispute_add_message(dispute=dispute, actor=authors[count % 4], body=f"#{count}")
        client.get(url)  # warm up: the rollout flag is then in the cache
        with CaptureQueriesContext(connection) as context:
            assert len(client.get(url).json()["messages"]) == total
        return len(context)

    assert queries(2) == queries(10)


# --- evidence -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["buyer", "leader", "m1", "staff"])
def test_parties_and_staff_add_evidence(client_for, team, staff, dispute, who):
    user = staff if who == "staff" else team.people[who]

    response = client_for(user).post(
        f"/api/disputes/{dispute.pk}/messages", {"body": "Here is the log."}, format="json"
    )

    assert response.status_code == 201
    message = DisputeMessage.objects.get()
    assert response.json() == {
        "id": message.pk,
        "author": ref(user),
        "body": "Here is the log.",
        "created_at": iso(message.created_at),
    }
    assert message.author == user


def test_evidence_refusals(client_for, anon, team, stranger, staff, dispute):
    url = f"/api/disputes/{dispute.pk}/messages"

    assert client_for(stranger).post(url, {"body": "hi"}, format="json").status_code == 404
    assert anon.post(url, {"body": "hi"}, format="json").status_code == 401
    blank = client_for(team.buyer).post(url, {"body": ""}, format="json")
    assert blank.status_code == 400
    assert list(blank.json()["error"]["fields"]) == ["body"]
    dispute_resolve(dispute=dispute, actor=staff, outcome="refund", note="Refunded.")
    closed = client_for(team.buyer).post(url, {"body": "One more thing"}, format="json")
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "dispute_closed"
    assert not DisputeMessage.objects.exists()


# --- resolve ------------------------------------------------------------------------


def test_staff_refund_gives_the_buyer_everything_back(
    client_for, team, staff, dispute, ledger_clean
):
    response = resolve(client_for(staff), dispute, outcome="refund", note="Never delivered.")

    assert response.status_code == 200
    assert response.json() == expected_dispute(dispute)
    body = response.json()
    assert (body["status"], body["outcome"], body["refund_amount"]) == (
        "resolved",
        "refund",
        "1000.00",
    )
    assert (body["resolved_by"], body["resolution_note"]) == (ref(staff), "Never delivered.")
    assert proposal_status(dispute) == S.REFUNDED
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_staff_release_pays_the_group_as_a_confirmation_would(
    client_for, team, staff, dispute, ledger_clean
):
    response = resolve(client_for(staff), dispute, outcome="release")

    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["refund_amount"]) == ("release", None)
    assert proposal_status(dispute) == S.COMPLETED
    assert money_state(team) == expect(team, **RELEASED)
    team.conversation.refresh_from_db()
    assert team.conversation.total_completed_projects == 1
    ledger_clean()


def test_staff_split_refunds_part_and_releases_the_rest(
    client_for, team, staff, dispute, ledger_clean
):
    response = resolve(client_for(staff), dispute, outcome="split", refund_amount="250.00")

    assert response.status_code == 200
    assert (response.json()["outcome"], response.json()["refund_amount"]) == ("split", "250.00")
    assert proposal_status(dispute) == S.SETTLED
    # 250.00 back; 750.00 released: platform 75.00, leader 22.50, pool 652.50 = 3 x 217.50
    assert money_state(team) == expect(
        team,
        buyer=("750.00", "0.00"),
        leader=("240.00", "0.00"),
        m1=("217.50", "0.00"),
        m2=("217.50", "0.00"),
        group=("0.00", "675.00"),
        platform="75.00",
    )
    ledger_clean()


def test_a_split_with_odd_cents(client_for, team, staff, dispute, ledger_clean):
    response = resolve(client_for(staff), dispute, outcome="split", refund_amount="0.01")

    assert response.status_code == 200
    # 999.99 released: fee 100.00 (99.999), commission 30.00 (29.9997), pool 869.99
    # = 290.00 + 290.00 + 289.99, the leftover cents to the first to join (leader, m1).
    assert money_state(team) == expect(
        team,
        buyer=("500.01", "0.00"),
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("289.99", "0.00"),
        group=("0.00", "899.99"),
        platform="100.00",
    )
    ledger_clean()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"outcome": "split"}, "invalid_refund_amount", None),
        ({"outcome": "split", "refund_amount": None}, "invalid_refund_amount", None),
        ({"outcome": "split", "refund_amount": "1000.00"}, "invalid_refund_amount", None),
        ({"outcome": "split", "refund_amount": "1500.00"}, "invalid_refund_amount", None),
        ({"outcome": "split", "refund_amount": "0"}, "invalid_amount", "refund_amount"),
        ({"outcome": "split", "refund_amount": "10.001"}, "invalid_amount", "refund_amount"),
        ({"outcome": "split", "refund_amount": 12.5}, "invalid_amount", "refund_amount"),
        ({"outcome": "split", "refund_amount": "abc"}, "invalid_amount", "refund_amount"),
        ({"outcome": "refund", "refund_amount": "10.00"}, "invalid_refund_amount", None),
        ({"outcome": "keep"}, "invalid", "outcome"),
        ({"outcome": "refund", "note": ""}, "invalid", "note"),
        ({"note": "x"}, "invalid", "outcome"),
    ],
)
def test_resolve_refuses_invalid_input_and_changes_nothing(
    client_for, team, staff, dispute, body, code, field, ledger_clean
):
    response = resolve(client_for(staff), dispute, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    if field:
        assert list(error["fields"]) == [field]
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert proposal_status(dispute) == S.DISPUTED
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


@pytest.mark.parametrize("who", ["buyer", "leader", "m1"])
def test_parties_cannot_resolve(client_for, team, dispute, who, ledger_clean):
    response = resolve(client_for(team.people[who]), dispute, outcome="refund")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert proposal_status(dispute) == S.DISPUTED
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


def test_resolve_is_404_for_strangers_and_unknown_ids_401_anonymous(
    client_for, anon, team, staff, stranger, dispute
):
    assert resolve(client_for(stranger), dispute, outcome="refund").status_code == 404
    assert resolve(client_for(staff), Dispute(pk=dispute.pk + 3), outcome="refund").status_code == (
        404
    )
    assert resolve(anon, dispute, outcome="refund").status_code == 401
    assert proposal_status(dispute) == S.DISPUTED
    assert money_state(team) == expect(team, **HELD)


def test_a_resolved_dispute_cannot_be_resolved_again(
    client_for, team, staff, dispute, ledger_clean
):
    assert resolve(client_for(staff), dispute, outcome="release").status_code == 200

    again = resolve(client_for(staff), dispute, outcome="refund")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "dispute_closed"
    assert money_state(team) == expect(team, **RELEASED)
    ledger_clean()


def test_resolve_with_an_idempotency_key_replays_and_refuses_another_body(
    client_for, team, staff, dispute, ledger_clean
):
    client = client_for(staff)

    first = resolve(client, dispute, key="r-1", outcome="refund")
    second = resolve(client, dispute, key="r-1", outcome="refund")
    reused = resolve(client, dispute, key="r-1", outcome="release")

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert EscrowTransaction.objects.filter(kind="refund").count() == 1
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_an_inactive_staff_account_cannot_resolve(client_for, team, staff, dispute):
    staff.is_active = False
    staff.save()

    response = resolve(client_for(staff), dispute, outcome="refund")

    # Token authentication refuses inactive users before anything else.
    assert response.status_code == 401
    assert proposal_status(dispute) == S.DISPUTED


def test_after_a_split_the_conversation_takes_a_new_proposal(client_for, team, staff, dispute):
    resolve(client_for(staff), dispute, outcome="split", refund_amount=str(usd("1.00").amount))

    response = client_for(team.leader).post(
        "/api/proposals",
        {"conversation_id": team.conversation.pk, "title": "Round two", "price": "10.00"},
        format="json",
    )

    assert response.status_code == 201
