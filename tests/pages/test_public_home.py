"""The home page (issue 14, finding 10): it sells the product to a buyer and to a group,
shows groups to browse, and no longer shows strangers the platform's internals."""

import pytest
from django.test import Client
from djmoney.money import Money

from escrow import services
from tests.factories import GroupFactory, UserFactory

from .conftest import text

pytestmark = pytest.mark.django_db


def test_the_home_page_has_one_call_to_action_for_a_buyer_and_one_for_a_group():
    html = Client().get("/").content.decode()

    assert html.count("data-cta=") == 2
    assert '<a class="btn" href="/groups/" data-cta="buyer">Browse groups</a>' in html
    assert (
        '<a class="btn" href="/accounts/signup/?next=/groups/mine/" data-cta="group">'
        "Start a group</a>" in html
    )
    for share in ("10%", "3%", "87%"):
        assert share in html


def test_the_member_pool_is_said_to_follow_finished_tasks_where_the_proposal_says_so():
    body = text(Client().get("/"))
    assert (
        "87% to the group's members: equal shares, or by their finished tasks' points if the "
        "proposal says so" in body
    )
    assert "shared equally" not in body


def test_a_signed_in_visitor_starts_a_group_straight_away():
    client = Client()
    client.force_login(UserFactory())
    html = client.get("/").content.decode()
    assert 'href="/groups/mine/" data-cta="group"' in html


def test_the_home_page_shows_the_newest_groups_to_browse():
    for name in ("Oldest", "Builders", "Painters", "Newest"):
        GroupFactory(name=name)

    page = Client().get("/")

    body = text(page)
    assert "Newest groups" in body
    assert body.index("Newest") < body.index("Painters") < body.index("Builders")
    assert "Oldest" not in body


def test_an_anonymous_visitor_sees_no_admin_schema_health_or_escrow_total():
    buyer = UserFactory()
    group = GroupFactory()
    services.wallet_deposit(user=buyer, amount=Money("500.00", "USD"), idempotency_key="dep-1")
    services.escrow_lock(
        buyer=buyer, group=group, amount=Money("123.45", "USD"), idempotency_key="lock-1"
    )

    html = Client().get("/").content.decode()

    for internal in ('href="/admin/"', 'href="/api/schema/"', 'href="/healthz"', "/api/docs/"):
        assert internal not in html
    assert "123.45" not in html
    assert "Held in escrow" not in html


def test_every_page_has_a_meta_description():
    group = GroupFactory(name="Makers", skills=["Go"])
    visitor = Client()
    for path, expected in [
        ("/", "Hire a whole group of freelancers"),
        ("/groups/", "Hire groups of freelancers"),
        (f"/groups/{group.pk}/", "Makers, a group of 1 freelancer (Go)"),
        ("/accounts/login/", "Hire groups of freelancers"),
    ]:
        html = visitor.get(path).content.decode()
        assert html.count('<meta name="description"') == 1, path
        assert f'<meta name="description" content="{expected}' in html, path
