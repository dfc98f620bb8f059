"""The chat page reads the money figures of all its proposal cards at once: its queries do
not grow with the number of completed cards (what each one paid out of escrow, and what
the viewer received), and each card still shows its own figures."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from proposals.models import Proposal
from tests.proposals.factories import bring_to

from .conftest import text

pytestmark = pytest.mark.django_db
S = Proposal.Status
BUDGET = 17  # for every viewer, with one completed card or six

# What each viewer is told on every completed card of 200.00 USD (a group of three:
# 20.00 platform fee, 6.00 leader commission, 58.00 for each member share).
RECEIVED = {
    "buyer": None,
    "leader": "You received 64.00 USD: your leader commission of 6.00 USD and your member "
    "share of 58.00 USD.",
    "m1": "You received 58.00 USD as your member share.",
}


def chat_queries(client, team, django_assert_max_num_queries) -> tuple[int, str]:
    url = f"/conversations/{team.conversation.pk}/"
    client.get(url)  # the rollout flag and the like are then in the cache
    with django_assert_max_num_queries(BUDGET), CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), text(response)


@pytest.mark.parametrize("viewer", RECEIVED)
def test_completed_cards_do_not_add_queries(as_user, team, django_assert_max_num_queries, viewer):
    bring_to(team, S.COMPLETED, price="200.00")
    client = as_user(team.people[viewer])
    one, _ = chat_queries(client, team, django_assert_max_num_queries)
    for _ in range(5):
        bring_to(team, S.COMPLETED, price="200.00")

    six, page = chat_queries(client, team, django_assert_max_num_queries)

    assert six == one
    assert page.count("What was paid out of escrow Price 200.00 USD Platform fee 20.00 USD") == 6
    if RECEIVED[viewer]:
        assert page.count(RECEIVED[viewer]) == 6
    else:
        assert "You received" not in page
