"""The money pages in a real browser (issue 14, findings 1-4), at desktop and phone width:
the wallet history adds up and unfolds a release, settled cards show what was paid,
money buttons ask once with the amounts (without script too: a <details> holds the real
button), and errors and messages appear where the person is looking. axe-core stays
clean on every page. Screenshots go to `artifacts/issue14/`."""

import pytest
from django.conf import settings
from djmoney.money import Money
from playwright.sync_api import expect

from disputes.models import Dispute
from disputes.services import dispute_resolve
from proposals.models import Proposal
from tests.factories import staff_user
from tests.proposals.factories import bring_to, make_team, propose

from .conftest import VIEWPORTS, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Proposal.Status
SCREENS = settings.BASE_DIR / "artifacts" / "issue14"


def shot(person, name: str, width: str):
    SCREENS.mkdir(parents=True, exist_ok=True)
    person.page.screenshot(path=SCREENS / f"{name}-{width}.png", full_page=True)


WIDER = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.scrollWidth > window.innerWidth + 1)
    .map(e => e.tagName + '.' + e.className + ' ' + e.scrollWidth)
    .slice(0, 8).concat([document.documentElement.scrollWidth, window.innerWidth])"""


def no_horizontal_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
        page.evaluate(WIDER)
    )


def test_finding1_the_wallet_history_adds_up(people, width, ledger_clean):
    team = off_the_loop(make_team, members=2, deposit="1500.00")
    off_the_loop(bring_to, team, S.COMPLETED, price="350.00")
    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    page = buyer.goto("/wallet/")
    rows = page.locator("table.ledger tbody tr")
    expect(rows).to_have_count(3)
    release = rows.first
    expect(release).to_contain_text(f"Released from escrow to {team.group.name}: 350.00")
    expect(release.locator('[data-field="escrow-change"]')).to_have_text("\N{MINUS SIGN}350.00 USD")
    expect(release.locator('[data-field="available-after"]')).to_have_text("1150.00")
    legs = release.locator("details.legs li")
    expect(legs.first).to_be_hidden()
    release.locator("summary").click()
    expect(legs).to_have_count(5)
    expect(legs.first).to_be_visible()
    expect(page.locator("figure.wallet-chart svg polyline")).to_have_count(2)
    no_horizontal_scroll(page)
    shot(buyer, "finding1-wallet-history-after", width)
    assert buyer.axe() == [], describe(buyer.axe())
    ledger_clean()


def test_finding2_a_settled_card_shows_what_moved(people, width, ledger_clean):
    team = off_the_loop(make_team, members=2, deposit="1500.00")
    proposal = off_the_loop(bring_to, team, S.DISPUTED)
    off_the_loop(
        dispute_resolve,
        dispute=Dispute.objects.get(proposal=proposal),
        actor=staff_user(None, "support"),
        outcome="split",
        refund_amount=Money("400.00", "USD"),
    )
    leader = people("leader", VIEWPORTS[width])
    leader.log_in(team.leader.username)
    page = leader.goto(f"/conversations/{team.conversation.pk}/#proposal-{proposal.pk}")
    card = page.locator(f"#proposal-{proposal.pk}")
    expect(card.locator("[data-paid]")).to_have_count(6)
    expect(card.locator('[data-paid="refund"] dd')).to_have_text("400.00 USD")
    expect(card.locator('[data-paid="platform_fee"] dd')).to_have_text("60.00 USD")
    expect(card.locator('[data-field="received"]')).to_have_text(
        "You received 192.00 USD: your leader commission of 18.00 USD and your member share "
        "of 174.00 USD."
    )
    expect(card).not_to_contain_text("100.00 USD")
    card.scroll_into_view_if_needed()
    shot(leader, "finding2-settled-card-after", width)
    assert leader.axe() == [], describe(leader.axe())
    ledger_clean()


def test_finding3_money_moves_after_one_question_with_the_amounts(people, width, ledger_clean):
    team = off_the_loop(make_team, members=2, deposit="1500.00")
    proposal = off_the_loop(propose, team, price="350.00")
    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    page = buyer.goto(f"/conversations/{team.conversation.pk}/")
    card = page.locator(f"#proposal-{proposal.pk}")
    expect(card.locator('[data-field="buyer-balance"]')).to_contain_text(
        "Your available balance: 1500.00 USD; after accepting: 1150.00 USD."
    )
    yes = card.get_by_role("button", name="Yes, accept and pay into escrow")
    expect(yes).to_be_hidden()  # one click does not move money
    card.locator('[data-confirm="accept"] summary').click()
    expect(card.locator('[data-confirm="accept"] .confirm-text')).to_have_text(
        "350.00 USD moves from available (1500.00 → 1150.00) into escrow."
    )
    shot(buyer, "finding3-accept-asks-after", width)
    assert buyer.axe() == [], describe(buyer.axe())
    yes.click()
    expect(card.locator(".card-flash .flash")).to_have_text(
        "You accepted “Build the shop”: 350.00 USD is now held in escrow."
    )
    expect(card.locator(".card-flash .flash")).to_be_in_viewport()

    # The withdrawal asks too, and says exactly what moves once an amount is typed.
    page = buyer.goto("/wallet/")
    page.get_by_label("Amount to withdraw", exact=True).fill("150.00")
    expect(page.get_by_role("button", name="Yes, withdraw")).to_be_hidden()
    page.locator("[data-withdraw-confirm] summary").click()
    expect(page.locator("[data-confirm-text]")).to_have_text(
        "150.00 USD moves from available (1150.00 → 1000.00) to your bank."
    )
    shot(buyer, "finding3-withdraw-asks-after", width)
    page.get_by_role("button", name="Yes, withdraw").click()
    expect(page.locator('[data-field="available"]')).to_have_text("1000.00 USD")
    assert buyer.axe() == [], describe(buyer.axe())
    assert buyer.console_errors == [], buyer.console_errors
    ledger_clean()


def test_finding4_a_bad_price_keeps_the_input_and_shows_the_error_there(people, width):
    team = off_the_loop(make_team, members=2, deposit="")
    leader = people("leader", VIEWPORTS[width])
    leader.log_in(team.leader.username)
    page = leader.goto(f"/conversations/{team.conversation.pk}/")
    form = page.locator("#new-proposal")
    form.get_by_label("Title", exact=True).fill("Landing page")
    form.get_by_label("Price", exact=True).fill("10.001")
    form.get_by_role("button", name="Send the proposal").click()
    price = page.locator("#new-proposal").get_by_label("Price", exact=True)
    expect(price).to_have_value("10.001")
    expect(page.locator("#new-proposal").get_by_label("Title", exact=True)).to_have_value(
        "Landing page"
    )
    error = page.locator("#new-proposal .field.has-error [role=alert]")
    expect(error).to_contain_text("Amounts have at most two decimal places.")
    expect(error).to_be_in_viewport()
    shot(leader, "finding4-form-error-after", width)
    assert leader.axe() == [], describe(leader.axe())
