"""The whole story through the API alone, as a mobile client would live it: no services,
no factories, only HTTP calls (and, at the end, the ledger and `manage.py reconcile`)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from escrow.models import Wallet
from escrow.reconcile import ledger_balances

PASSWORD = "correct-horse-battery"


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def sign_up(username) -> tuple[APIClient, int]:
    """Register through the API and come back with a token client."""
    client = APIClient()
    body = {"username": username, "password": PASSWORD, "email": f"{username}@example.com"}
    user = ok(client.post("/api/auth/register", body, format="json"), 201)
    token = ok(
        client.post("/api/auth/token", {"username": username, "password": PASSWORD}, format="json")
    )["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client, user["id"]


@pytest.mark.django_db
def test_a_buyer_hires_a_group_and_everyone_is_paid():
    buyer, _ = sign_up("bea")
    leader, leader_id = sign_up("leo")
    member, member_id = sign_up("mia")

    # The buyer funds the wallet through the sandbox provider.
    deposit = ok(buyer.post("/api/wallet/deposit", {"amount": "1500.00"}, format="json"), 201)
    assert deposit["wallet"]["available_balance"] == "1500.00"

    # The leader builds the group.
    group = ok(
        leader.post(
            "/api/groups",
            {"name": "Shopmakers", "description": "Shops.", "skills": ["django"]},
            format="json",
        ),
        201,
    )
    ok(leader.post(f"/api/groups/{group['id']}/members", {"username": "mia"}, format="json"), 201)
    members = ok(leader.get(f"/api/groups/{group['id']}"))["members"]
    assert [(m["username"], m["role"]) for m in members] == [("leo", "leader"), ("mia", "member")]

    # The buyer opens the chat and writes.
    conversation = ok(
        buyer.post("/api/conversations", {"group_id": group["id"]}, format="json"), 201
    )
    chat = f"/api/conversations/{conversation['id']}/messages"
    ok(buyer.post(chat, {"body": "Can you build my shop?"}, format="json"), 201)

    # The leader proposes 1000.00 in the chat.
    proposal = ok(
        leader.post(
            "/api/proposals",
            {
                "conversation_id": conversation["id"],
                "title": "Build the shop",
                "description": "Catalogue, cart, checkout.",
                "price": "1000.00",
            },
            format="json",
        ),
        201,
    )
    assert (proposal["status"], proposal["escrow_amount"]) == ("pending", "0.00")
    assert (proposal["platform_fee"], proposal["leader_commission"], proposal["member_pool"]) == (
        "100.00",
        "30.00",
        "870.00",
    )
    url = f"/api/proposals/{proposal['id']}"
    assert ok(member.get(url))["id"] == proposal["id"]

    # The buyer accepts: the price is held in escrow.
    accepted = ok(buyer.post(f"{url}/accept", HTTP_IDEMPOTENCY_KEY="accept-shop"))
    assert (accepted["status"], accepted["escrow_amount"]) == ("accepted", "1000.00")
    assert ok(buyer.get("/api/wallet")) == {
        "currency": "USD",
        "balance": "1500.00",
        "available_balance": "500.00",
        "escrow_balance": "1000.00",
    }

    # The leader splits the work; each moves their task to done.
    mine = ok(
        leader.post(
            "/api/tasks",
            {"proposal_id": proposal["id"], "title": "Backend", "assigned_to_id": leader_id},
            format="json",
        ),
        201,
    )
    theirs = ok(
        leader.post(
            "/api/tasks/create",
            {"proposal_id": proposal["id"], "title": "Design", "assigned_to_id": member_id},
            format="json",
        ),
        201,
    )
    assert theirs["assigned_to"] == {"id": member_id, "username": "mia"}
    for client, task in ((leader, mine), (member, theirs)):
        for status in ("in_progress", "done"):
            moved = ok(client.patch(f"/api/tasks/{task['id']}", {"status": status}, format="json"))
            assert moved["status"] == status
    tasks = ok(buyer.get(f"/api/tasks?proposal_id={proposal['id']}"))["results"]
    assert [(t["title"], t["status"]) for t in tasks] == [("Backend", "done"), ("Design", "done")]
    assert ok(buyer.get(url))["status"] == "in_progress"  # the first task started it

    # Delivered, then confirmed: the escrow is paid out.
    delivered = ok(leader.post(f"{url}/deliver"))
    assert delivered["status"] == "delivered"
    assert delivered["auto_release_at"] is not None
    completed = ok(buyer.post(f"{url}/confirm", HTTP_IDEMPOTENCY_KEY="confirm-shop"))
    assert (completed["status"], completed["escrow_amount"]) == ("completed", "0.00")

    assert ok(buyer.get("/api/wallet")) == {
        "currency": "USD",
        "balance": "500.00",
        "available_balance": "500.00",
        "escrow_balance": "0.00",
    }
    # The leader: commission 30.00 plus an equal share 435.00; the member: 435.00.
    assert ok(leader.get("/api/wallet"))["available_balance"] == "465.00"
    assert ok(member.get("/api/wallet"))["available_balance"] == "435.00"
    shares = [
        Decimal(row["amount"])
        for client in (leader, member)
        for row in ok(client.get("/api/wallet/transactions"))["results"]
        if row["kind"] == "member_share"
    ]
    assert shares == [Decimal("435.00"), Decimal("435.00")]
    assert sum(shares) == Decimal("870.00")
    group_wallet = ok(leader.get(f"/api/groups/{group['id']}/wallet"))
    assert (group_wallet["escrow_balance"], group_wallet["total_escrow_received"]) == (
        "0.00",
        "900.00",
    )
    # The platform's 10 %, read from the ledger (its wallet caches no balance).
    platform = Wallet.objects.get(kind=Wallet.Kind.PLATFORM, balance_currency="USD")
    assert ledger_balances("wallet")[platform.pk] == Decimal("100.00")

    # The chat tells the story.
    chats = ok(buyer.get("/api/conversations"))["results"]
    assert len(chats) == 1
    assert (chats[0]["total_completed_projects"], chats[0]["active_proposal_id"]) == (1, None)
    assert chats[0]["total_proposals"] == 1
    history = ok(member.get(chat))["results"]
    assert history[0]["body"] == "Can you build my shop?"
    assert history[0]["sender"]["username"] == "bea"
    events = [m["metadata"] for m in history if m["sender"] is None]
    assert [e["status"] for e in events if e.get("type") == "proposal"] == [
        "pending",
        "accepted",
        "in_progress",
        "delivered",
        "completed",
    ]
    assert all(e["proposal_id"] == proposal["id"] for e in events if e.get("type") == "proposal")

    # And the books balance.
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "Ledger clean" in out.getvalue()
