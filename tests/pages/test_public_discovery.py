"""Public discovery (issue 14): anonymous visitors browse, search and open groups, and
contacting one brings them back after signing up or logging in."""

import pytest
from django.test import Client

from marketplace.core.models import Conversation
from tests.factories import GroupFactory, UserFactory

from .conftest import text

pytestmark = pytest.mark.django_db


def test_an_anonymous_visitor_browses_and_searches_groups():
    GroupFactory(name="Shop builders", description="Online shops", skills=["Django"])
    GroupFactory(name="Data folk", description="Pipelines", skills=["python"])
    visitor = Client()

    page = visitor.get("/groups/")
    assert page.status_code == 200
    assert "2 groups." in text(page)

    found = visitor.get("/groups/", {"q": "shop"})
    assert "Shop builders" in text(found) and "Data folk" not in text(found)
    by_skill = visitor.get("/groups/", {"skill": "PYTHON"})
    assert "Data folk" in text(by_skill) and "Shop builders" not in text(by_skill)


def test_an_anonymous_visitor_opens_a_profile_with_what_a_buyer_needs():
    leader, member = UserFactory(username="lead"), UserFactory(username="mem")
    group = GroupFactory(name="Makers", skills=["Go", "CSS"], leader=leader, members=[member])
    Conversation.objects.create(
        product_owner=UserFactory(), group=group, total_completed_projects=4
    )

    page = Client().get(f"/groups/{group.pk}/")

    assert page.status_code == 200
    body = text(page)
    assert "Makers" in body and "Go" in body and "CSS" in body
    assert "Members 2" in body and "lead leader" in body and "mem" in body
    assert "Completed projects 4" in body
    assert f"Member since {group.created_at:%-d %b %Y}" in body
    # Contacting the group asks to sign up or log in, and comes back here.
    html = page.content.decode()
    assert f'href="/accounts/signup/?next=/groups/{group.pk}/"' in html
    assert f'href="/accounts/login/?next=/groups/{group.pk}/"' in html
    assert "Start a conversation" not in body


def test_an_unknown_group_is_404_for_anonymous_visitors_too():
    assert Client().get("/groups/999999/").status_code == 404


def test_signing_up_from_a_profile_returns_to_it():
    group = GroupFactory()
    visitor = Client()
    path = f"/groups/{group.pk}/"

    form = visitor.get("/accounts/signup/", {"next": path})
    assert f'<input type="hidden" name="next" value="{path}">' in form.content.decode()
    assert f'href="/accounts/login/?next={path}"' in form.content.decode()
    response = visitor.post(
        "/accounts/signup/",
        {
            "username": "newbuyer",
            "email": "newbuyer@example.com",
            "password1": "a-long-enough-secret-42",
            "password2": "a-long-enough-secret-42",
            "next": path,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == path
    assert "Start a conversation" in text(visitor.get(path))


@pytest.mark.parametrize(
    "target", ["https://evil.example/phish", "//evil.example/", "javascript:alert(1)"]
)
def test_signing_up_never_sends_the_visitor_off_the_site(target):
    visitor = Client()
    form = visitor.get("/accounts/signup/", {"next": target})
    assert 'name="next"' not in form.content.decode()
    response = visitor.post(
        "/accounts/signup/",
        {
            "username": "careful",
            "email": "careful@example.com",
            "password1": "a-long-enough-secret-42",
            "password2": "a-long-enough-secret-42",
            "next": target,
        },
    )
    assert response["Location"] == "/groups/"


def test_logging_in_from_a_profile_returns_to_it():
    group = GroupFactory()
    UserFactory(username="returning", password="correct-horse-battery")
    visitor = Client()
    path = f"/groups/{group.pk}/"

    form = visitor.get("/accounts/login/", {"next": path})
    assert f'<input type="hidden" name="next" value="{path}">' in form.content.decode()
    assert f'href="/accounts/signup/?next={path}"' in form.content.decode()
    response = visitor.post(
        "/accounts/login/",
        {"username": "returning", "password": "correct-horse-battery", "next": path},
    )

    assert response["Location"] == path


def test_logging_in_ignores_a_next_page_on_another_site():
    UserFactory(username="returning", password="correct-horse-battery")
    response = Client().post(
        "/accounts/login/",
        {
            "username": "returning",
            "password": "correct-horse-battery",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/groups/"


def test_the_navigation_offers_discovery_to_everyone():
    html = Client().get("/").content.decode()
    assert '<a href="/groups/"' in html
