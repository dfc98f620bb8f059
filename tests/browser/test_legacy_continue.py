"""Old projects continued, in a real browser at desktop and phone width: the owner picks a
group on the legacy project, lands in the conversation whose first message carries the old
terms, the legacy list shows where the project went, and the leader's proposal form starts
from its title, description and budget. axe-core stays clean."""

import pytest
from djmoney.money import Money
from playwright.sync_api import expect

from legacy.services import project_create
from tests.factories import GroupFactory, UserFactory

from .conftest import VIEWPORTS, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def setup():
    owner = UserFactory()
    group = GroupFactory(name="Data Wranglers")
    project = project_create(
        owner=owner,
        title="Recipe archive",
        description="Type up 200 recipes.",
        budget=Money("480.05", "USD"),
    )
    return owner, group, project


def test_the_owner_continues_and_the_leader_proposes_from_it(people, width):
    owner, group, project = off_the_loop(setup)

    buyer = people("owner", VIEWPORTS[width])
    buyer.log_in(owner.username)
    page = buyer.goto(f"/legacy/projects/{project.pk}/")
    assert buyer.axe() == [], describe(buyer.axe())
    page.get_by_label("Group", exact=True).select_option(label="Data Wranglers")
    page.get_by_role("button", name="Continue with this group").click()
    expect(page.locator(".flash")).to_contain_text("continues here with Data Wranglers")
    expect(page.get_by_text("Continued from the legacy project “Recipe archive”")).to_be_visible()

    listing = buyer.goto("/legacy/projects/")
    expect(listing.get_by_role("link", name="Data Wranglers")).to_be_visible()

    leader = people("leader", VIEWPORTS[width])
    leader.log_in(group.leader.username)
    chat = leader.goto(listing.get_by_role("link", name="Data Wranglers").get_attribute("href"))
    form = chat.locator("#new-proposal")
    expect(form.locator("[name=title]")).to_have_value("Recipe archive")
    expect(form.locator("[name=description]")).to_have_value("Type up 200 recipes.")
    expect(form.locator("[name=price]")).to_have_value("480.05")
    assert leader.axe() == [], describe(leader.axe())
