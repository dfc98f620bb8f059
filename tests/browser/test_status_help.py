"""Statuses whose name alone does not say what happened to the money (issue 14, finding
6: "Settled" was explained only by a mouse's tooltip), in a real browser at a desktop's
and a phone's width: the card says it in visible words, and the chat's badge carries it
for a screen reader, the badge added live as much as the one the server renders."""

import pytest
from playwright.sync_api import expect

from disputes.services import dispute_open
from marketplace.core.templatetags.pages import STATUS_HELP
from proposals.models import Proposal
from tests.proposals.factories import bring_to, make_team

from .conftest import VIEWPORTS, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HELP = STATUS_HELP["disputed"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_dispute_opened_live_is_explained_on_the_card_and_the_chat_badge(people, viewport):
    team = off_the_loop(make_team, members=1, deposit="900.00")
    proposal = off_the_loop(bring_to, team, Proposal.Status.IN_PROGRESS, price="300.00")
    buyer = people(f"buyer-{viewport}", viewport=VIEWPORTS[viewport])
    buyer.log_in(team.buyer.username)
    page = buyer.goto(f"/conversations/{team.conversation.pk}/")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "online")

    off_the_loop(dispute_open, proposal=proposal, actor=team.buyer, reason="Late.")

    live = page.locator("#messages .status-badge.status-disputed")
    expect(live).to_have_count(1)
    expect(live.locator("abbr")).to_have_text("Disputed")
    expect(live.locator("abbr")).to_have_attribute("title", HELP)
    expect(live.locator(".visually-hidden")).to_have_text(f": {HELP}")
    explained = page.locator(f'#proposal-{proposal.pk} [data-field="status-help"]')
    expect(explained).to_have_text(HELP)
    explained.scroll_into_view_if_needed()
    expect(explained).to_be_in_viewport(ratio=1)  # words on the screen, not a tooltip
    buyer.shot("live")
    violations = buyer.axe()

    # The badge added live is the badge the server renders.
    live_html = live.inner_html()
    page.reload()
    expect(page.locator("#messages .status-badge.status-disputed")).to_have_count(1)
    assert page.locator("#messages .status-badge.status-disputed").inner_html() == live_html
    violations += buyer.axe()

    assert buyer.console_errors == []
    assert violations == [], describe(violations)
