"""Every API endpoint has a query budget: the most SQL statements one call may take on a
marketplace with some history (a 4-member group, completed, running and pending
proposals, tasks, chat, notifications, a dispute). A change that makes a call slower
fails here, not for users. Budgets count every statement, savepoints included."""

import pytest

from disputes.services import dispute_open
from marketplace.core.services import message_send
from proposals import services
from proposals.models import Proposal
from tests.factories import UserFactory
from tests.proposals.factories import bring_to, make_team, propose

pytestmark = pytest.mark.django_db
S = Proposal.Status


@pytest.fixture
def market():
    """History to read: completed and disputed deals, chat, tasks; one pending proposal."""
    team = make_team(members=4, deposit="9000.00")
    for _ in range(2):
        bring_to(team, S.COMPLETED, price="500.00")
    disputed = bring_to(team, S.IN_PROGRESS, price="300.00")
    for member in team.members:
        services.task_create(
            proposal=disputed, actor=team.leader, title="A part", assigned_to=member
        )
    dispute = dispute_open(proposal=disputed, actor=team.buyer, reason="Late.")
    for number in range(10):
        message_send(conversation=team.conversation, sender=team.buyer, body=f"Hello {number}")
    for _ in range(5):
        UserFactory()
    team.dispute = dispute
    team.disputed = disputed
    return team


READS = {
    "/api/me": 2,
    "/api/wallet": 2,
    "/api/wallet/transactions": 5,  # count, page keys (one UNION ALL), the page's rows
    "/api/groups": 3,
    "/api/groups?search=group": 3,
    "/api/groups/{group}": 3,
    "/api/conversations": 3,
    "/api/conversations/{conversation}/messages": 4,
    "/api/proposals": 3,
    "/api/proposals/{disputed}": 3,  # + the sharers of `pool_shares`
    "/api/tasks?proposal_id={disputed}": 4,
    "/api/notifications": 4,
    "/api/notifications/unread-count": 2,
    "/api/disputes/{dispute}": 4,  # + the snapshot frozen at opening
}


@pytest.mark.parametrize("path", READS)
def test_a_read_stays_within_its_budget(market, client_for, django_assert_max_num_queries, path):
    url = path.format(
        group=market.group.pk,
        conversation=market.conversation.pk,
        disputed=market.disputed.pk,
        dispute=market.dispute.pk,
    )
    client = client_for(market.buyer)
    client.get(url)  # the rollout flag and the like are then in the cache

    with django_assert_max_num_queries(READS[path]):
        response = client.get(url)

    assert response.status_code == 200, response.content


def test_the_group_wallet_stays_within_its_budget(
    market, client_for, django_assert_max_num_queries
):
    client = client_for(market.leader)
    url = f"/api/groups/{market.group.pk}/wallet"
    client.get(url)

    with django_assert_max_num_queries(4):
        response = client.get(url)

    assert response.status_code == 200, response.content


# action -> (who, the status it starts from, budget)
WRITES = {
    "accept": ("buyer", S.PENDING, 33),
    "reject": ("buyer", S.PENDING, 14),
    "withdraw": ("leader", S.PENDING, 14),
    "start": ("leader", S.ACCEPTED, 12),
    "deliver": ("leader", S.IN_PROGRESS, 14),
    "request-changes": ("buyer", S.DELIVERED, 14),
    "confirm": ("buyer", S.DELIVERED, 40),
    "cancel": ("leader", S.IN_PROGRESS, 31),
}


@pytest.mark.parametrize("action", WRITES)
def test_a_transition_stays_within_its_budget(client_for, django_assert_max_num_queries, action):
    role, source, budget = WRITES[action]
    team = make_team(members=4, deposit="9000.00")
    bring_to(team, S.COMPLETED, price="100.00")  # wallets exist, as on a busy platform
    proposal = propose(team, "100.00") if source == S.PENDING else bring_to(team, source, "100.00")
    client = client_for(getattr(team, role))
    body = {"note": "Please fix the header."} if action == "request-changes" else {}

    with django_assert_max_num_queries(budget):
        response = client.post(
            f"/api/proposals/{proposal.pk}/{action}",
            body,
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"budget-{action}",
        )

    assert response.status_code == 200, response.content


def test_sending_a_message_stays_within_its_budget(
    market, client_for, django_assert_max_num_queries
):
    client = client_for(market.buyer)

    with django_assert_max_num_queries(7):
        response = client.post(
            f"/api/conversations/{market.conversation.pk}/messages", {"body": "Hi"}, format="json"
        )

    assert response.status_code == 201, response.content


def test_a_deposit_stays_within_its_budget(market, client_for, django_assert_max_num_queries):
    client = client_for(market.buyer)

    with django_assert_max_num_queries(16):
        response = client.post(
            "/api/wallet/deposit",
            {"amount": "10.00"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="budget-deposit",
        )

    assert response.status_code in (200, 201), response.content
