"""The money story through the REST API on the embedded default: what a client sees is
exact to the cent, and no request answers 500 (SQLite once refused right balances with
an IntegrityError)."""

import pytest
from rest_framework.test import APIClient

from tests.factories import GroupFactory, UserFactory

from .books import release_plan
from .test_money_story import staff_resolver

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]


def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)  # authentication is not under test here
    return api


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json()


def wallet(api) -> dict:
    body = ok(api.get("/api/wallet"))
    return {key: body[key] for key in ("balance", "available_balance", "escrow_balance")}


class Story:
    def __init__(self, deposit: str, members: int = 2):
        self.leader = UserFactory()
        self.members = [UserFactory() for _ in range(members)]
        self.group = GroupFactory(leader=self.leader, members=self.members)
        self.buyer_user = UserFactory()
        self.buyer, self.lead = client(self.buyer_user), client(self.leader)
        ok(self.buyer.post("/api/wallet/deposit", {"amount": deposit}, format="json"), 201)
        chat = ok(
            self.buyer.post("/api/conversations", {"group_id": self.group.pk}, format="json"),
            201,
        )
        self.conversation = chat["id"]

    def propose(self, price: str) -> str:
        body = {
            "conversation_id": self.conversation,
            "title": "Build it",
            "description": "All of it.",
            "price": price,
        }
        proposal = ok(self.lead.post("/api/proposals", body, format="json"), 201)
        assert proposal["price"] == price
        return f"/api/proposals/{proposal['id']}"


def test_accept_0_20_of_0_30_deliver_confirm_through_the_api(ledger_clean):
    story = Story(deposit="0.30")
    url = story.propose("0.20")

    accepted = ok(story.buyer.post(f"{url}/accept", HTTP_IDEMPOTENCY_KEY="accept-1"))
    assert (accepted["status"], accepted["escrow_amount"]) == ("accepted", "0.20")
    assert wallet(story.buyer) == {
        "balance": "0.30",
        "available_balance": "0.10",
        "escrow_balance": "0.20",
    }
    ledger_clean()

    assert ok(story.lead.post(f"{url}/deliver"))["status"] == "delivered"
    completed = ok(story.buyer.post(f"{url}/confirm", HTTP_IDEMPOTENCY_KEY="confirm-1"))
    assert (completed["status"], completed["escrow_amount"]) == ("completed", "0.00")

    # 0.20 released: fee 0.02, commission 0.01, pool 0.17 shared 0.06 / 0.06 / 0.05.
    assert wallet(story.buyer) == {
        "balance": "0.10",
        "available_balance": "0.10",
        "escrow_balance": "0.00",
    }
    assert wallet(story.lead)["available_balance"] == "0.07"
    assert [wallet(client(m))["available_balance"] for m in story.members] == ["0.06", "0.05"]
    group_wallet = ok(story.lead.get(f"/api/groups/{story.group.pk}/wallet"))
    assert (group_wallet["escrow_balance"], group_wallet["total_escrow_received"]) == (
        "0.00",
        "0.18",
    )
    ledger_clean()


def test_accept_765_43_of_830_86_cancel_then_a_split_through_the_api(ledger_clean):
    story = Story(deposit="830.86")
    url = story.propose("765.43")
    ok(story.buyer.post(f"{url}/accept", HTTP_IDEMPOTENCY_KEY="accept-1"))
    assert wallet(story.buyer) == {
        "balance": "830.86",
        "available_balance": "65.43",
        "escrow_balance": "765.43",
    }
    ledger_clean()
    assert ok(story.lead.post(f"{url}/cancel"))["status"] == "cancelled"
    assert wallet(story.buyer) == {
        "balance": "830.86",
        "available_balance": "830.86",
        "escrow_balance": "0.00",
    }
    ledger_clean()

    # Again, delivered and disputed; staff split it: 333.33 back, 432.10 released.
    url = story.propose("765.43")
    ok(story.buyer.post(f"{url}/accept", HTTP_IDEMPOTENCY_KEY="accept-2"))
    ok(story.lead.post(f"{url}/deliver"))
    proposal_id = int(url.rsplit("/", 1)[1])
    dispute = ok(
        story.buyer.post(
            "/api/disputes/create",
            {"proposal_id": proposal_id, "reason": "Half of it works."},
            format="json",
        ),
        201,
    )
    resolved = ok(
        client(staff_resolver()).post(
            f"/api/disputes/{dispute['id']}/resolve",
            {"outcome": "split", "refund_amount": "333.33", "note": "Half done."},
            format="json",
            HTTP_IDEMPOTENCY_KEY="resolve-1",
        )
    )
    assert resolved["status"] == "resolved"
    assert wallet(story.buyer) == {
        "balance": "398.76",
        "available_balance": "398.76",
        "escrow_balance": "0.00",
    }
    # 432.10 released: fee 43.21, commission 12.96, pool 375.93 = 125.31 each.
    assert release_plan(43210, 3) == (4321, 1296, [12531, 12531, 12531])
    assert wallet(story.lead)["available_balance"] == "138.27"
    assert [wallet(client(m))["available_balance"] for m in story.members] == [
        "125.31",
        "125.31",
    ]
    ledger_clean()
