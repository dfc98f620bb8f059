"""Everything people write is capped: a 2.4 MB group description (or any text over its
limit) is refused with 400 `invalid` naming the field, on the API and the pages, and
nothing is stored; discovery's filters are capped too."""

import pytest
from django.test import Client

from legacy.models import Project
from marketplace.core.limits import (
    DESCRIPTION_MAX_LENGTH,
    GROUP_DESCRIPTION_MAX_LENGTH,
    SEARCH_MAX_LENGTH,
)
from marketplace.core.models import Group, Message
from proposals.models import Proposal, Task
from tests.conftest import token_client
from tests.factories import UserFactory
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db
MEGABYTES = "x" * 2_400_000


def refused(response, field: str) -> None:
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]


def test_a_megabytes_group_description_is_refused():
    client = token_client(UserFactory())

    response = client.post("/api/groups", {"name": "Big", "description": MEGABYTES}, format="json")

    refused(response, "description")
    assert not Group.objects.exists()


def test_a_group_description_at_the_limit_is_accepted():
    client = token_client(UserFactory())
    description = "y" * GROUP_DESCRIPTION_MAX_LENGTH

    response = client.post(
        "/api/groups", {"name": "Full", "description": description}, format="json"
    )

    assert response.status_code == 201
    assert Group.objects.get().description == description


def test_the_group_page_refuses_a_description_over_the_limit():
    client = Client()
    client.force_login(UserFactory())

    response = client.post(
        "/groups/mine/", {"name": "Big", "description": "z" * (GROUP_DESCRIPTION_MAX_LENGTH + 1)}
    )

    assert response.status_code == 200
    assert "at most 2000 characters" in response.content.decode()
    assert not Group.objects.exists()


def test_discovery_refuses_a_search_over_its_limit():
    client = token_client(UserFactory())

    refused(client.get("/api/groups", {"search": "s" * (SEARCH_MAX_LENGTH + 1)}), "search")
    assert client.get("/api/groups", {"search": "s" * SEARCH_MAX_LENGTH}).status_code == 200


def test_proposal_and_task_descriptions_are_capped():
    team = make_team()
    leader = token_client(team.leader)
    too_long = "d" * (DESCRIPTION_MAX_LENGTH + 1)

    response = leader.post(
        "/api/proposals",
        {
            "conversation_id": team.conversation.pk,
            "title": "Shop",
            "description": too_long,
            "price": "100.00",
        },
        format="json",
    )
    refused(response, "description")
    assert not Proposal.objects.exists()

    proposal = bring_to(team, Proposal.Status.ACCEPTED)
    response = leader.post(
        "/api/tasks",
        {"proposal_id": proposal.pk, "title": "Cart", "description": too_long},
        format="json",
    )
    refused(response, "description")
    assert not Task.objects.exists()


def test_a_legacy_project_description_is_capped():
    client = token_client(UserFactory())

    response = client.post(
        "/api/projects/create",
        {"title": "Old", "description": MEGABYTES, "budget": "10.00"},
        format="json",
    )

    refused(response, "description")
    assert not Project.objects.exists()


def test_chat_messages_stay_capped():
    team = make_team()

    response = token_client(team.buyer).post(
        f"/api/conversations/{team.conversation.pk}/messages",
        {"body": MEGABYTES},
        format="json",
    )

    refused(response, "body")
    assert not Message.objects.filter(body__startswith="xxx").exists()
