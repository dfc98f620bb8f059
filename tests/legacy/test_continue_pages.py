"""Continuing a legacy project on the pages: the owner picks a group, the list shows where
each project went, and the group's leader proposes from a form prefilled with its terms."""

import re
from html import unescape

import pytest
from django.test import Client
from djmoney.money import Money

from legacy.models import Project
from legacy.services import project_continue, project_create
from proposals.services import proposal_withdraw
from tests.factories import GroupFactory, UserFactory
from tests.pages.conftest import csrf_post, flashes, text
from tests.proposals.factories import make_team, propose

pytestmark = pytest.mark.django_db


def as_user(user) -> Client:
    """A browser-like client signed in as `user`, CSRF checks on (as the pages' tests)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def field_value(html: str, name: str) -> str | None:
    """The value the form shows in the input or textarea `name`."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', html, re.S
    )
    return unescape(match.group(1)).strip() if match else None


def old_project(owner, title="Recipe archive", budget="480.05") -> Project:
    return project_create(
        owner=owner, title=title, description="Type up 200 recipes.", budget=Money(budget, "USD")
    )


def test_the_owner_continues_a_project_with_a_group():
    owner = UserFactory()
    group = GroupFactory(name="Data Wranglers")
    own_group = GroupFactory(name="Mine", leader=owner)
    project = old_project(owner)
    client = as_user(owner)

    detail = client.get(f"/legacy/projects/{project.pk}/").content.decode()
    assert "Continue with a group" in detail
    assert f'<option value="{group.pk}">Data Wranglers</option>' in detail
    assert f'value="{own_group.pk}"' not in detail  # a buyer cannot hire their own group

    response = csrf_post(client, f"/legacy/projects/{project.pk}/continue/", {"group": group.pk})

    project.refresh_from_db()
    conversation = project.continued_conversation
    assert response["Location"] == f"/conversations/{conversation.pk}/"
    assert flashes(response) == ["“Recipe archive” continues here with Data Wranglers."]
    assert "Continued from the legacy project “Recipe archive”, budget 480.05 USD." in text(
        client.get(f"/conversations/{conversation.pk}/")
    )
    listing = client.get("/legacy/projects/")
    assert (
        "Recipe archive Budget 480.05 USD · continued · 0 orders Continued with Data Wranglers"
        in text(listing)
    )
    assert f'href="/conversations/{conversation.pk}/"' in listing.content.decode()
    assert "Continue with a group" not in text(client.get(f"/legacy/projects/{project.pk}/"))


def test_continuing_twice_is_refused():
    owner = UserFactory()
    project = old_project(owner)
    project_continue(project=project, actor=owner, group=GroupFactory())

    response = csrf_post(
        as_user(owner), f"/legacy/projects/{project.pk}/continue/", {"group": GroupFactory().pk}
    )

    assert response["Location"] == f"/legacy/projects/{project.pk}/"
    assert flashes(response) == ["This project was already continued."]


def test_no_group_chosen():
    owner = UserFactory()
    project = old_project(owner)

    response = csrf_post(as_user(owner), f"/legacy/projects/{project.pk}/continue/", {})

    assert flashes(response) == ["Please choose a group to continue the project with."]
    assert Project.objects.get(pk=project.pk).status == "open"


def test_a_stranger_gets_404():
    project = old_project(UserFactory())
    response = csrf_post(
        as_user(UserFactory()),
        f"/legacy/projects/{project.pk}/continue/",
        {"group": GroupFactory().pk},
    )
    assert response.status_code == 404
    assert Project.objects.get(pk=project.pk).status == "open"


def test_the_leaders_proposal_form_starts_from_the_project():
    team = make_team(members=1)
    project = old_project(team.buyer)
    project_continue(project=project, actor=team.buyer, group=team.group)
    chat = f"/conversations/{team.conversation.pk}/"

    html = as_user(team.leader).get(chat).content.decode()

    assert field_value(html, "title") == "Recipe archive"
    assert field_value(html, "description") == "Type up 200 recipes."
    assert field_value(html, "price") == "480.05"
    # A member sees no form; once the leader proposed, the form starts blank again.
    assert field_value(as_user(team.people["m1"]).get(chat).content.decode(), "price") is None
    proposal_withdraw(proposal=propose(team, price="480.05"), actor=team.leader)
    html = as_user(team.leader).get(chat).content.decode()
    assert 'name="title"' in html  # the form is back, without the project's terms
    assert field_value(html, "title") is None
    assert field_value(html, "price") is None


def test_the_list_page_query_budget(django_assert_max_num_queries):
    owner = UserFactory()
    for index in range(4):
        project = old_project(owner, title=f"Project {index}")
        if index % 2:
            project_continue(project=project, actor=owner, group=GroupFactory())
    client = as_user(owner)
    client.get("/legacy/projects/")  # warm the session and the flags

    with django_assert_max_num_queries(12):
        response = client.get("/legacy/projects/")

    assert response.status_code == 200
    assert text(response).count("Continued with") == 2
