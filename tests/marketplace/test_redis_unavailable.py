"""While Redis is away the app keeps working on PostgreSQL: the cache reads as empty
(`marketplace.cache_fallback`). Found by the bank test: with Redis stopped, every
proposal call answered 500, because the rollout flag is read through the cache. The
fault is real: the cache points at a port where no Redis listens."""

import pytest
from django.core.cache import cache

from escrow.models import Wallet
from proposals.models import Proposal
from tests.api.conftest import fund
from tests.factories import ConversationFactory, GroupFactory, UserFactory
from tests.live import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_away(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "marketplace.cache_fallback.FallbackRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }


def test_an_unreachable_redis_reads_as_an_empty_cache(redis_away):
    assert cache.get("flag", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("counter", 0) is False
    cache.set("counter", 1)
    assert cache.get_or_set("computed", lambda: 7) == 7
    with pytest.raises(ValueError):
        cache.incr("counter")


def test_proposals_and_money_keep_working_without_redis(redis_away, client_for):
    buyer, leader = UserFactory(), UserFactory()
    conversation = ConversationFactory(product_owner=buyer, group=GroupFactory(leader=leader))
    fund(buyer, "100.00")

    created = client_for(leader).post(
        "/api/proposals",
        {"conversation_id": conversation.pk, "title": "Site", "price": "60.00"},
        format="json",
    )
    assert created.status_code == 201, created.content
    accepted = client_for(buyer).post(
        f"/api/proposals/{created.json()['id']}/accept", HTTP_IDEMPOTENCY_KEY="accept-1"
    )
    assert accepted.status_code == 200, accepted.content
    message = client_for(buyer).post(
        f"/api/conversations/{conversation.pk}/messages", {"body": "Thanks!"}, format="json"
    )
    assert message.status_code == 201, message.content

    assert Proposal.objects.get(pk=created.json()["id"]).status == Proposal.Status.ACCEPTED
    wallet = Wallet.objects.get(user=buyer)
    assert (wallet.available_balance.amount, wallet.escrow_balance.amount) == (40, 60)
