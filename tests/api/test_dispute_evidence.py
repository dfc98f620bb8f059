"""Disputes that bring their own evidence (CONTRACT.md, "Additions"): opening freezes the
terms, the tasks, the delivery time and the last 50 messages into items of kind "auto",
and `GET /api/disputes/{id}` carries `suggested_refund_amount` = price * (points of tasks
not done ÷ points of all tasks), half-up to the cent, null without tasks."""

import pytest

from disputes.models import Dispute, DisputeEvidenceItem
from marketplace.core.models import Message
from proposals.models import Proposal, Task
from tests.factories import UserFactory, staff_user
from tests.proposals.factories import bring_to, expect, make_team, money_state

pytestmark = pytest.mark.django_db
S = Proposal.Status
T = Task.Status
# A delivered proposal's escrow, frozen by the dispute: the buyer funded 1500.00.
HELD = {"buyer": ("500.00", "1000.00"), "group": ("1000.00", "0.00")}


@pytest.fixture
def team():
    return make_team(members=2, deposit="1500.00")


def add_tasks(proposal, *specs, assignee=None):
    """`specs`: (status, points) pairs, created in that order."""
    for number, (status, points) in enumerate(specs, start=1):
        Task.objects.create(
            proposal=proposal,
            title=f"Task {number}",
            status=status,
            points=points,
            assigned_to=assignee,
        )


def open_dispute(client, proposal):
    response = client.post(
        "/api/disputes/create", {"proposal_id": proposal.pk, "reason": "Unfinished."}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


# --- the suggestion, in cents ------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "tasks", "suggested"),
    [
        # 3 of 6 points not done: half of 1000.00.
        ("1000.00", [(T.DONE, 3), (T.TODO, 2), (T.IN_PROGRESS, 1)], "500.00"),
        # 2 of 3 points: 666.666… rounds up to 666.67.
        ("1000.00", [(T.DONE, 1), (T.TODO, 1), (T.TODO, 1)], "666.67"),
        # 1 of 3 points: 333.333… rounds down to 333.33.
        ("1000.00", [(T.DONE, 2), (T.TODO, 1)], "333.33"),
        # Exactly half a cent (1000.01 ÷ 2 = 500.005): half-up gives 500.01, not 500.00.
        ("1000.01", [(T.DONE, 1), (T.TODO, 1)], "500.01"),
        # In-progress counts as not done; points weigh, not the number of tasks.
        ("1000.00", [(T.DONE, 1), (T.IN_PROGRESS, 7)], "875.00"),
        ("1000.00", [(T.DONE, 5), (T.DONE, 5)], "0.00"),
        ("1000.00", [(T.TODO, 4)], "1000.00"),
    ],
)
def test_the_suggested_refund_follows_the_unfinished_points(
    client_for, team, price, tasks, suggested, ledger_clean
):
    proposal = bring_to(team, S.DELIVERED, price=price)
    add_tasks(proposal, *tasks)

    body = open_dispute(client_for(team.buyer), proposal)

    assert body["suggested_refund_amount"] == suggested
    assert (
        client_for(team.leader).get(f"/api/disputes/{body['id']}").json()["suggested_refund_amount"]
        == suggested
    )
    # Opening moves no money: the escrow is only frozen.
    if price == "1000.00":
        assert money_state(team) == expect(team, **HELD)
    ledger_clean()


def test_without_tasks_the_suggestion_is_null(client_for, team, ledger_clean):
    proposal = bring_to(team, S.IN_PROGRESS)

    body = open_dispute(client_for(team.leader), proposal)

    assert body["suggested_refund_amount"] is None
    assert [item["topic"] for item in body["evidence"]] == ["terms"] + ["message"] * (
        len(body["evidence"]) - 1
    )
    ledger_clean()


# --- the snapshot ------------------------------------------------------------------------


def test_opening_freezes_terms_tasks_delivery_and_the_last_50_messages(
    client_for, team, ledger_clean
):
    proposal = bring_to(team, S.DELIVERED)
    add_tasks(proposal, (T.DONE, 3), (T.TODO, 1), assignee=team.members[0])
    for number in range(60):
        Message.objects.create(
            conversation=team.conversation, sender=team.buyer, body=f"Note {number}"
        )
    before = list(Message.objects.filter(conversation=team.conversation).order_by("-id")[:50])[::-1]
    proposal.refresh_from_db()

    body = open_dispute(client_for(team.buyer), proposal)

    evidence = body["evidence"]
    assert {item["kind"] for item in evidence} == {"auto"}
    assert evidence[0] == {
        "kind": "auto",
        "topic": "terms",
        "occurred_at": None,
        "data": {
            "title": proposal.title,
            "price": "1000.00",
            "currency": "USD",
            "platform_fee_rate": str(proposal.platform_fee_rate),
            "leader_commission_rate": str(proposal.leader_commission_rate),
            "due_date": None,
            "pool_split": "equal",
        },
    }
    assert [item["data"] for item in evidence[1:3]] == [
        {"title": "Task 1", "status": "done", "points": 3, "assignee": team.members[0].username},
        {"title": "Task 2", "status": "todo", "points": 1, "assignee": team.members[0].username},
    ]
    delivered_at = proposal.delivered_at.isoformat().replace("+00:00", "Z")
    assert evidence[3] == {
        "kind": "auto",
        "topic": "delivery",
        "occurred_at": delivered_at,
        "data": {"delivered_at": proposal.delivered_at.isoformat()},
    }
    messages = evidence[4:]
    assert len(messages) == 50
    assert [item["data"]["body"] for item in messages] == [m.body for m in before]
    assert messages[-1]["data"] == {"author": team.buyer.username, "body": "Note 59"}
    assert body["suggested_refund_amount"] == "250.00"
    ledger_clean()


def test_the_snapshot_stays_frozen_when_the_tasks_change_afterwards(client_for, team):
    proposal = bring_to(team, S.DELIVERED)
    add_tasks(proposal, (T.DONE, 1), (T.TODO, 1))
    body = open_dispute(client_for(team.buyer), proposal)

    Task.objects.filter(proposal=proposal).update(status=T.DONE, points=9)
    Message.objects.create(conversation=team.conversation, sender=team.leader, body="Later")

    again = client_for(team.buyer).get(f"/api/disputes/{body['id']}").json()
    assert again["suggested_refund_amount"] == "500.00"
    assert again["evidence"] == body["evidence"]
    assert "Later" not in [item["data"].get("body") for item in again["evidence"]]


def test_a_refused_opening_freezes_nothing(client_for, team):
    proposal = bring_to(team, S.PENDING)
    add_tasks(proposal, (T.TODO, 1))

    response = client_for(team.buyer).post(
        "/api/disputes/create", {"proposal_id": proposal.pk, "reason": "No."}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert not Dispute.objects.exists()
    assert not DisputeEvidenceItem.objects.exists()


# --- who reads it, and at what cost ------------------------------------------------------


def test_strangers_get_404_and_support_reads_the_snapshot(client_for, team):
    proposal = bring_to(team, S.DELIVERED)
    add_tasks(proposal, (T.DONE, 1), (T.TODO, 3))
    body = open_dispute(client_for(team.buyer), proposal)
    url = f"/api/disputes/{body['id']}"

    stranger = client_for(UserFactory()).get(url)
    assert stranger.status_code == 404
    assert stranger.json()["error"]["code"] == "not_found"
    support = client_for(staff_user(None, "support")).get(url).json()
    assert support["suggested_refund_amount"] == "750.00"
    assert support["evidence"] == body["evidence"]


def test_reading_a_dispute_with_a_full_snapshot_is_a_few_queries(
    client_for, team, django_assert_max_num_queries
):
    proposal = bring_to(team, S.DELIVERED)
    add_tasks(proposal, *[(T.TODO, 1)] * 20, assignee=team.members[1])
    for number in range(60):
        Message.objects.create(conversation=team.conversation, sender=team.leader, body=str(number))
    body = open_dispute(client_for(team.buyer), proposal)
    client = client_for(team.buyer)

    # The token, the dispute, its messages, its snapshot.
    with django_assert_max_num_queries(4):
        response = client.get(f"/api/disputes/{body['id']}")

    assert response.status_code == 200
    assert len(response.json()["evidence"]) == 1 + 20 + 1 + 50


def test_opening_with_a_full_snapshot_is_a_bounded_number_of_queries(
    client_for, team, django_assert_max_num_queries
):
    proposal = bring_to(team, S.DELIVERED)
    add_tasks(proposal, *[(T.TODO, 1)] * 20)
    for number in range(60):
        Message.objects.create(conversation=team.conversation, sender=team.leader, body=str(number))
    client = client_for(team.buyer)

    # As many as with no tasks and no messages: the snapshot is three queries whatever its size.
    with django_assert_max_num_queries(28):
        open_dispute(client, proposal)
