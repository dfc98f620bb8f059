"""Issue 14, findings 6-9, in a real browser at a desktop's and a phone's width (the staff
desks at a desktop's only): the navigation reaches every page and the pages explain
themselves; one status label, one badge colour and one date format; the escrow desks write
money as the site does and make finance give a reason before paying for undelivered work;
with DEBUG off, the site's own 404 and 403 pages while the API keeps its JSON. axe-core
stays clean on every page visited. (The 500 page is tested through Django's test client,
tests/pages/test_error_pages.py: no route of the real server fails on purpose.)"""

import re
from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from djmoney.money import Money
from playwright.sync_api import expect

from disputes.models import Dispute, DisputeMessage
from disputes.services import dispute_add_message, dispute_resolve
from legacy.models import Order, Project
from legacy.services import order_create, project_continue, project_create
from marketplace.core.models import Message
from marketplace.core.templatetags.pages import STATUS_HELP
from proposals.models import Proposal
from proposals.services import proposal_deliver, task_create
from tests.factories import GroupFactory, UserFactory, staff_user
from tests.live import asgi_servers
from tests.proposals.factories import bring_to, make_team, money_state, propose

from .conftest import VIEWPORTS, Person, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = Proposal.Status
# Every date the tests make is this moment (or its day), so each page's text is known.
MOMENT = datetime(2026, 12, 15, 23, 32, tzinfo=UTC)
WHEN = "15 Dec 2026, 23:32"  # the `when` filter
DAY = "15 Dec 2026"  # `when:"day"`
ISO_ISH = re.compile(r"\d{4}-\d{2}-\d{2}")  # "2026-12-15 23:32 UTC", the other format


def badge_colours(badge) -> tuple[str, str]:
    return tuple(
        badge.evaluate("e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]")
    )


def visible_text(page) -> str:
    return page.locator("body").inner_text()


def in_reach(page, locator, width: int) -> bool:
    """On the screen without scrolling sideways (the navigation wraps on a phone: it has no
    menu button to open)."""
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


# --- finding 6: navigation gaps ------------------------------------------------------


def two_groups_a_settled_proposal_and_an_open_one():
    team = make_team(members=2, deposit="1500.00")  # the leader and two members: 3
    settled = bring_to(team, S.DISPUTED, price="500.00")
    dispute_resolve(
        dispute=Dispute.objects.get(proposal=settled),
        actor=staff_user(None, "support"),
        outcome="split",
        refund_amount=Money("200.00", "USD"),
    )
    propose(team, price="300.00", title="Second round")
    GroupFactory(name="Solo Studio", leader=team.leader)  # the leader alone: 1
    return team


def test_finding6_every_page_is_reachable_and_says_why(people, width):
    team = off_the_loop(two_groups_a_settled_proposal_and_an_open_one)
    size = VIEWPORTS[width]
    leader = people("leader", size)
    leader.log_in(team.leader.username)
    page = leader.page
    nav = page.get_by_role("navigation", name="Main")
    violations = []

    disputes = nav.get_by_role("link", name="Disputes")
    assert in_reach(page, disputes, size["width"])
    disputes.click()
    page.wait_for_url(re.compile(r"/disputes/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Disputes")
    expect(nav.get_by_role("link", name="Disputes")).to_have_attribute("aria-current", "page")
    expect(page.locator("main li.card")).to_have_count(1)
    expect(page.locator("main li.card")).to_contain_text("Resolved: split")
    violations += leader.axe()

    nav.get_by_role("link", name="My groups").click()
    page.wait_for_url(re.compile(r"/groups/mine/$"))
    groups = page.get_by_role("list", name="Your groups").locator("li.card")
    expect(groups).to_have_count(2)
    expect(groups.filter(has_text=team.group.name).locator("h2 + p")).to_have_text(
        "3 members · you lead it"
    )
    expect(groups.filter(has_text="Solo Studio").locator("h2 + p")).to_have_text(
        "1 member · you lead it"
    )
    leader.shot("my-groups")
    violations += leader.axe()

    nav.get_by_role("link", name="Conversations").click()
    page.get_by_role("link", name=re.compile(team.buyer.username)).first.click()
    page.wait_for_url(re.compile(rf"/conversations/{team.conversation.pk}/$"))
    # A proposal is open: no form to send another, and the leader is told why.
    expect(page.locator("#new-proposal")).to_have_count(0)
    expect(page.locator("#proposal-panel")).to_contain_text(
        "You can send a new proposal when the open one is finished, withdrawn or rejected."
    )
    # "Settled" says what happened to the money, where the page shows it.
    settled = page.locator("#messages .status-badge.status-settled abbr")
    expect(settled).to_have_count(1)
    expect(settled).to_have_text("Settled")
    expect(settled).to_have_attribute("title", STATUS_HELP["settled"])
    leader.shot("chat")
    violations += leader.axe()

    assert violations == [], describe(violations)


# --- finding 7: one label, one colour, one date format --------------------------------


def an_in_progress_proposal_with_tasks():
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.IN_PROGRESS, price="300.00")
    task_create(
        proposal=proposal,
        actor=team.leader,
        title="Draw the logo",
        assigned_to=team.members[0],
        due_date=MOMENT.date(),
        points=2,
    )
    task_create(proposal=proposal, actor=team.leader, title="Write the copy")
    Message.objects.filter(conversation=team.conversation).update(created_at=MOMENT)
    return team, proposal


def test_finding7_one_label_one_badge_colour_one_date_format(people, width):
    team, proposal = off_the_loop(an_in_progress_proposal_with_tasks)
    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    violations = []

    page = buyer.goto(f"/conversations/{team.conversation.pk}/")
    card_badge = page.locator(f"#proposal-{proposal.pk} .status-badge")
    chat_badges = page.locator("#messages .status-badge")
    expect(card_badge).to_have_text("In progress")
    in_progress = chat_badges.filter(has_text=re.compile(r"^In progress$"))
    expect(in_progress).to_have_count(1)
    assert "In Progress" not in visible_text(page)
    # The chat's badges are coloured by status, as the cards' are.
    assert badge_colours(in_progress) == badge_colours(card_badge)
    assert len({badge_colours(badge) for badge in chat_badges.all()}) > 1
    expect(page.locator("#messages time").first).to_have_text(WHEN)
    assert not ISO_ISH.search(visible_text(page))
    violations += buyer.axe()

    # A status change arrives live: the new chat badge matches the card's new badge.
    off_the_loop(proposal_deliver, proposal=proposal, actor=team.leader)
    delivered = chat_badges.filter(has_text=re.compile(r"^Delivered$"))
    expect(delivered).to_have_count(1)
    expect(card_badge).to_have_text("Delivered")
    assert badge_colours(delivered) == badge_colours(card_badge)
    assert badge_colours(delivered) != badge_colours(in_progress)
    expect(page.locator("#messages time").last).to_have_text(
        re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$")
    )
    buyer.shot("chat")

    page = buyer.goto(f"/proposals/{proposal.pk}/tasks/")
    expect(page.locator('[data-field="proposal-status"]')).to_have_text("Delivered")
    expect(page.locator("#col-in_progress")).to_contain_text("In progress")
    logo = page.locator("#task-board .task").filter(has_text="Draw the logo")
    expect(logo.locator("p.muted")).to_have_text(
        f"Assigned to {team.members[0].username} · 2 points · due {DAY}"
    )
    copy = page.locator("#task-board .task").filter(has_text="Write the copy")
    expect(copy.locator("p.muted")).to_have_text("Not assigned · 1 point")
    # No subtitle starts or ends with a stray separator.
    for line in page.locator("main p.muted").all_inner_texts():
        assert not line.strip().startswith("·") and not line.strip().endswith("·"), line
    assert "In Progress" not in visible_text(page)
    assert not ISO_ISH.search(visible_text(page))
    buyer.shot("board")
    violations += buyer.axe()

    assert violations == [], describe(violations)


def a_dated_dispute_and_a_continued_legacy_project():
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.DISPUTED, price="300.00")
    dispute = Dispute.objects.get(proposal=proposal)
    dispute_add_message(dispute=dispute, actor=team.leader, body="We delivered the shop.")
    project = project_create(
        owner=team.buyer,
        title="Recipe archive",
        description="Type up 200 recipes.",
        budget=Money("480.05", "USD"),
    )
    order_create(buyer=team.buyer, project_id=project.pk, amount=Money("100.00", "USD"))
    project_continue(project=project, actor=team.buyer, group=team.group)
    Dispute.objects.filter(pk=dispute.pk).update(created_at=MOMENT)
    DisputeMessage.objects.filter(dispute=dispute).update(created_at=MOMENT)
    Order.objects.filter(project=project).update(created_at=MOMENT)
    Project.objects.filter(pk=project.pk).update(continued_at=MOMENT)
    return team, dispute, project


def test_finding7_dispute_and_legacy_pages_write_dates_one_way(people, width):
    team, dispute, project = off_the_loop(a_dated_dispute_and_a_continued_legacy_project)
    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    violations = []

    page = buyer.goto("/disputes/")
    expect(page.locator("main li.card")).to_contain_text(
        f"opened by {team.buyer.username} on {DAY}"
    )
    assert not ISO_ISH.search(visible_text(page))
    violations += buyer.axe()

    page = buyer.goto(f"/disputes/{dispute.pk}/")
    expect(page.locator("#dispute-thread blockquote footer")).to_have_text(
        f"— {team.buyer.username}, {WHEN}"
    )
    expect(page.locator("#dispute-thread .evidence time")).to_have_text(WHEN)
    assert not ISO_ISH.search(visible_text(page))
    buyer.shot("dispute")
    violations += buyer.axe()

    page = buyer.goto("/legacy/projects/")
    expect(page.locator("main")).to_contain_text(f"Continued with {team.group.name} on {DAY}.")
    assert not ISO_ISH.search(visible_text(page))
    violations += buyer.axe()

    page = buyer.goto(f"/legacy/projects/{project.pk}/")
    expect(page.locator("main")).to_contain_text(f"Continued with {team.group.name} on {DAY}.")
    expect(page.locator("main ul.members li").first).to_have_text(
        re.compile(rf"^Order #\d+: 100\.00 USD · \w+ · {DAY}$")
    )
    assert not ISO_ISH.search(visible_text(page))
    buyer.shot("legacy")
    violations += buyer.axe()

    assert violations == [], describe(violations)


def test_finding7_the_dispute_desk_writes_dates_one_way(people):
    _, dispute, _ = off_the_loop(a_dated_dispute_and_a_continued_legacy_project)
    off_the_loop(staff_user, "desk", "support")
    support = people("support", VIEWPORTS["desktop"])
    support.log_in("desk")

    page = support.goto(f"/admin/disputes/dispute/{dispute.pk}/resolve/")

    expect(page.locator("#content")).to_contain_text(f"frozen in escrow since {WHEN} (")
    expect(page.locator("#content table").first.locator("tbody td").first).to_have_text(WHEN)
    assert not ISO_ISH.search(page.locator("#content").inner_text())
    assert " UTC" not in page.locator("#content").inner_text()
    support.shot("dispute-desk")


# --- finding 8: the escrow desks -------------------------------------------------------


def usd(amount) -> str:
    return f"{amount} USD"


def test_finding8_the_escrow_desks_and_a_release_before_delivery(people, ledger_clean):
    team = off_the_loop(make_team, members=1, deposit="1500.00")
    proposal = off_the_loop(bring_to, team, S.ACCEPTED, price="650.00")
    off_the_loop(staff_user, "fin", "finance")
    finance = people("finance", VIEWPORTS["desktop"])
    finance.log_in("fin")
    violations = []

    page = finance.goto("/admin/escrow/escrowhold/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td.field-held")).to_have_text("650.00 USD")
    expect(page.locator("#result_list thead")).to_contain_text(re.compile("proposal", re.I))
    assert "$" not in page.locator("#result_list").inner_text()
    finance.shot("holds")
    violations += finance.axe()
    rows.get_by_role("link", name=f"#{proposal.pk} Build the shop").click()
    page.wait_for_url(re.compile(rf"/admin/proposals/proposal/{proposal.pk}/change/$"))

    # The wallet lists write money the same way ("$" was djmoney's default).
    page = finance.goto("/admin/escrow/wallet/")
    buyer_row = page.locator("#result_list tbody tr").filter(has_text=team.buyer.username)
    expect(buyer_row.locator("td.field-balance")).to_have_text("1500.00 USD")
    expect(buyer_row.locator("td.field-available_balance")).to_have_text("850.00 USD")
    expect(buyer_row.locator("td.field-escrow_balance")).to_have_text("650.00 USD")
    assert "$" not in page.locator("#result_list").inner_text()
    violations += finance.axe()
    page = finance.goto("/admin/escrow/groupwallet/")
    group_escrow, group_received = off_the_loop(money_state, team)["group"]
    group_row = page.locator("#result_list tbody tr").filter(has_text=team.group.name)
    expect(group_row.locator("td.field-escrow_balance")).to_have_text(usd(group_escrow))
    expect(group_row.locator("td.field-total_escrow_received")).to_have_text(usd(group_received))
    assert "$" not in page.locator("#result_list").inner_text()
    page = finance.goto("/admin/escrow/escrowtransaction/")
    expect(
        page.locator("#result_list td.field-amount").filter(has_text="1500.00 USD")
    ).to_have_count(1)
    assert "$" not in page.locator("#result_list").inner_text()

    # Releasing a proposal that was accepted, never delivered: said, and a reason asked.
    page = finance.goto("/admin/proposals/proposal/")
    page.locator(f'input[name="_selected_action"][value="{proposal.pk}"]').check()
    page.locator('select[name="action"]').select_option("release_escrow")
    page.get_by_role("button", name="Run").click()
    warning = page.locator(f'[data-undelivered="{proposal.pk}"]')
    expect(warning).to_contain_text("Never delivered: this proposal is accepted")
    finance.shot("release-asks")
    violations += finance.axe()
    page.get_by_label("Reason").fill("The buyer asked by e-mail.")
    acknowledge = page.get_by_label("I release it although the group never delivered the work")
    # A reason alone is not enough: the browser keeps the form until the box is ticked (the
    # server refuses it too: tests/ops/test_admin_desks.py).
    page.get_by_role("button", name="Release escrow").click()
    assert acknowledge.evaluate("box => box.validity.valueMissing")
    expect(warning).to_be_visible()
    assert off_the_loop(money_state, team)["buyer"] == ("850.00", "650.00")  # nothing moved
    acknowledge.check()
    page.get_by_role("button", name="Release escrow").click()
    page.wait_for_url(re.compile(r"/admin/proposals/proposal/$"))
    expect(page.locator(".messagelist")).to_contain_text("Released")
    assert off_the_loop(money_state, team)["buyer"] == ("850.00", "0.00")
    assert Proposal.objects.get(pk=proposal.pk).status == S.COMPLETED
    ledger_clean()

    assert violations == [], describe(violations)


# --- finding 9: error pages with DEBUG off -------------------------------------------


@pytest.fixture
def production(transactional_db, settings):
    """The base URL of a real server with DEBUG off, as deployed (`debug_off_settings`
    only serves the static files without `collectstatic`)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    with asgi_servers(1, DEBUG="0", DJANGO_SETTINGS_MODULE="tests.browser.debug_off_settings") as (
        url,
    ):
        yield url


def looks_like_the_site(page):
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("link", name="Group marketplace")).to_have_attribute("href", "/")
    # The site's stylesheet loaded and applied (the error code is set large: 3rem).
    assert page.locator(".error-code").evaluate("e => getComputedStyle(e).fontSize") == "48px"


def test_finding9_the_sites_own_error_pages_with_debug_off(browser, production, width):
    assert django_settings.DEBUG is False
    off_the_loop(UserFactory, username="rosa")
    off_the_loop(staff_user, "pat")  # staff without a role: not finance
    visitor = Person(browser, production, width, "finding9", VIEWPORTS[width])
    violations = []
    try:
        page = visitor.page
        response = page.goto("/no/such/page/")
        assert response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that page")
        looks_like_the_site(page)
        visitor.shot("404")
        violations += visitor.axe()
        page.get_by_role("link", name="Go to the home page").click()
        page.wait_for_url(f"{production}/")

        # A form sent after the browser's cookies were cleared: the CSRF check refuses it.
        page.goto("/accounts/login/")
        visitor.context.clear_cookies()
        page.get_by_label("Username").fill("rosa")
        page.get_by_label("Password").fill("correct-horse-battery")
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            page.get_by_role("button", name="Log in").click()
        assert posted.value.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("This form has expired")
        expect(page.locator("main")).to_contain_text("Go back, reload the page and try again.")
        looks_like_the_site(page)
        visitor.shot("403-expired-form")
        violations += visitor.axe()
        # Going back and trying again works.
        page.go_back()
        page.reload()
        visitor.log_in("rosa")

        # Signed in, a page the account may not open.
        visitor.context.clear_cookies()
        visitor.log_in("pat")
        response = page.goto("/admin/escrow/wallet/1/adjust/")
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("You are not allowed to do that")
        looks_like_the_site(page)
        violations += visitor.axe()

        # The API keeps its JSON.
        api = visitor.context.request.get("/api/no/such/endpoint")
        assert api.status == 404
        assert api.headers["content-type"] == "application/json"
        assert api.json()["error"]["code"] == "not_found"
    finally:
        visitor.close()

    assert violations == [], describe(violations)
