"""Issue 14 in a real browser, at a desktop's and a phone's width: the public pages
(home, discovery, a group's profile, sign-up) and long words (finding 5). Every
page visited passes axe-core; nothing is wider than the screen."""

import re

import pytest
from playwright.sync_api import expect

from proposals.models import Proposal
from tests.factories import GroupFactory, UserFactory, staff_user
from tests.proposals.factories import bring_to, make_team, propose

from .conftest import VIEWPORTS, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_WORD = "Supercalifragilistic" * 5  # 100 characters, no space to break at


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_visitor_finds_a_group_and_comes_back_to_it_after_signing_up(people, viewport):
    size = VIEWPORTS[viewport]
    group = off_the_loop(
        GroupFactory,
        name="Pixel Crew",
        description="Shops and landing pages. " * 30,
        skills=["django", "design"],
        members=[off_the_loop(UserFactory, username="mia")],
    )
    visitor = people(f"visitor-{viewport}", viewport=size)
    violations = []

    page = visitor.goto("/")
    # Finding 7: the "Sign up" button sits on the line of the "Log in" link.
    nav = page.get_by_role("navigation", name="Main")
    log_in = nav.get_by_role("link", name="Log in").bounding_box()
    sign_up = nav.get_by_role("link", name="Sign up").bounding_box()
    middle = lambda box: box["y"] + box["height"] / 2  # noqa: E731
    assert abs(middle(log_in) - middle(sign_up)) <= 1
    expect(page.get_by_role("link", name="Browse groups")).to_be_visible()
    expect(page.get_by_role("link", name="Start a group")).to_be_visible()
    for internal in ("/admin/", "/api/schema/", "/healthz"):
        assert page.locator(f'a[href="{internal}"]').count() == 0
    assert page_width(page) <= size["width"]
    visitor.shot("home")
    violations += visitor.axe()

    page.get_by_role("link", name="Browse groups").click()
    page.wait_for_url(re.compile(r"/groups/$"))
    page.get_by_label("Skill", exact=True).fill("design")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_have_text("1 group found.")
    violations += visitor.axe()

    page.get_by_role("link", name="Pixel Crew").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pixel Crew")
    expect(page.locator(".stats")).to_contain_text("Member since")
    # The long description is clamped; "Show more" unfolds it.
    full = page.locator(".long-text details p")
    expect(full).to_be_hidden()
    page.get_by_text("Show more").click()
    expect(full).to_be_visible()
    assert page_width(page) <= size["width"]
    violations += visitor.axe()

    page.locator(".contact-prompt").get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("newbuyer")
    page.get_by_label("Email").fill("newbuyer@example.com")
    page.get_by_label("Password", exact=True).fill("a-long-enough-secret-42")
    page.get_by_label("Password again").fill("a-long-enough-secret-42")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(rf"/groups/{group.pk}/$"))
    expect(page.get_by_role("button", name="Start a conversation")).to_be_visible()
    expect(page.get_by_role("link", name="Disputes")).to_be_visible()
    violations += visitor.axe()

    # Finding 7: the legacy form's amount and currency boxes line up.
    page = visitor.goto("/legacy/projects/")
    budget = page.get_by_label("Budget").bounding_box()
    currency = page.get_by_label("Currency").bounding_box()
    assert abs(budget["height"] - currency["height"]) <= 1
    if viewport == "desktop":
        assert abs(budget["y"] - currency["y"]) <= 1
    visitor.shot("legacy-form")

    assert violations == [], describe(violations)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_home_cards_steps_follow_their_heading_without_a_gap(people, viewport):
    """The two calls to action are flex columns, which do not collapse margins: the list's
    top margin came on top of the heading's, an empty band between them."""
    visitor = people(f"visitor-{viewport}", viewport=VIEWPORTS[viewport])
    page = visitor.goto("/")

    cards = page.locator(".audience")
    expect(cards).to_have_count(2)
    for card in cards.all():
        gap, heading_margin = card.evaluate(
            """card => {
              const heading = card.querySelector("h2"), steps = card.querySelector(".steps");
              return [steps.getBoundingClientRect().top - heading.getBoundingClientRect().bottom,
                      parseFloat(getComputedStyle(heading).marginBottom)];
            }"""
        )
        assert gap == pytest.approx(heading_margin, abs=0.5)
    visitor.shot("home-cards")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_long_title_keeps_the_page_width_and_the_accept_button(people, viewport):
    """Finding 5: a 100-character word made the page 1918 px wide at 1280 and pushed the
    Accept button off a phone's screen."""
    size = VIEWPORTS[viewport]
    team = off_the_loop(make_team, members=1, deposit="900.00")
    off_the_loop(propose, team, price="300.00", title=LONG_WORD)
    buyer = people(f"buyer-{viewport}", viewport=size)
    buyer.log_in(team.buyer.username)

    page = buyer.goto(f"/conversations/{team.conversation.pk}/")

    expect(page.locator("article.proposal").first).to_contain_text(LONG_WORD[:20])
    assert page_width(page) <= size["width"]
    # The button, or the summary that opens the accept step (it asks first).
    card = page.locator("article.proposal").first
    accept = card.locator("button, summary").filter(has_text=re.compile(r"^\s*Accept")).first
    accept.scroll_into_view_if_needed()
    expect(accept).to_be_in_viewport(ratio=1)
    buyer.shot("long-title")
    violations = buyer.axe()
    assert violations == [], describe(violations)


def test_the_dispute_desk_fits_a_desktop_screen(people):
    """Finding 8: the dispute desk's table was wider than 1280 px."""
    team = off_the_loop(make_team, members=1, deposit="900.00")
    off_the_loop(bring_to, team, Proposal.Status.DISPUTED, price="300.00")
    Proposal.objects.update(title=LONG_WORD)
    off_the_loop(staff_user, "desk", "support", password="correct-horse-battery")
    support = people("support", viewport=VIEWPORTS["desktop"])
    support.log_in("desk")

    page = support.goto("/admin/disputes/dispute/")

    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    support.shot("dispute-desk")
    assert page_width(page) <= VIEWPORTS["desktop"]["width"]
    # The admin scrolls a wide table inside its box: the table must not need to.
    results = page.locator("#changelist .results")
    assert results.evaluate("box => box.scrollWidth <= box.clientWidth")
