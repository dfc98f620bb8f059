"""The whole story in a real browser: three people (buyer, leader, member), each in their
own browser context, against the real ASGI server. Live updates arrive over the
websockets without reloading; money is checked on every wallet page to the cent and the
ledger is reconciled at the end."""

import re

import pytest
from djmoney.money import Money
from playwright.sync_api import expect

from disputes.models import Dispute
from disputes.services import dispute_resolve
from proposals.models import Proposal
from proposals.services import task_create
from tests.factories import staff_user
from tests.proposals.factories import bring_to, make_team

from .conftest import describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def flash(page):
    return page.locator(".flash").first


def wallet_reads(person, available: str, escrow: str, total: str):
    page = person.goto("/wallet/")
    expect(page.locator('[data-field="available"]')).to_have_text(f"{available} USD")
    expect(page.locator('[data-field="escrow"]')).to_have_text(f"{escrow} USD")
    expect(page.locator('[data-field="total"]')).to_have_text(f"{total} USD")


def deposit(person, amount: str):
    page = person.goto("/wallet/")
    page.get_by_label("Amount to add", exact=True).fill(amount)
    page.get_by_role("button", name="Deposit").click()
    expect(flash(page)).to_have_text(f"{amount} USD was added to your wallet.")


def wait_live(person):
    expect(person.page.locator("#live-status")).to_have_text("Live")


def card(person):
    return person.page.locator("article.proposal").first


def answer_yes(person, action: str, label: str):
    """Money buttons ask once (issue 14): open the step, then press its real button."""
    card(person).locator(f'[data-confirm="{action}"] summary').click()
    card(person).get_by_role("button", name=f"Yes, {label[0].lower()}{label[1:]}").click()


def test_discover_chat_propose_accept_tasks_deliver_confirm(people, ledger_clean):
    buyer, leader, member = people("buyer"), people("leader"), people("member")
    buyer.sign_up("bella")
    leader.sign_up("leo")
    member.sign_up("mia")

    # The leader creates the group and adds the member.
    page = leader.goto("/groups/mine/")
    page.get_by_label("Name", exact=True).fill("Pixel Crew")
    page.get_by_label("Description").fill("Shops and landing pages, designed and built.")
    page.get_by_label("Skills").fill("django, design")
    page.get_by_role("button", name="Create the group").click()
    expect(flash(page)).to_have_text("Your group Pixel Crew is ready. Add its members below.")
    page.get_by_label("Username of the new member", exact=True).fill("mia")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(flash(page)).to_have_text("mia joined Pixel Crew.")
    leader.shot("01-group-created")

    # The buyer adds 500.00 (not enough yet), then discovers the group.
    deposit(buyer, "500.00")
    page = buyer.goto("/groups/")
    page.get_by_label("Search", exact=True).fill("pixel")
    page.get_by_label("Skill", exact=True).fill("design")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".group-card")).to_have_count(1)
    expect(page.locator(".group-card [data-members]")).to_have_text("2: leo (leader), mia")
    buyer.shot("02-discovery")
    page.get_by_role("link", name="Pixel Crew").click()
    buyer.shot("03-group-profile")
    page.get_by_role("button", name="Start a conversation").click()
    page.wait_for_url(re.compile(r"/conversations/\d+/$"))
    chat_path = page.url.removeprefix(buyer.base)

    # Everyone in the chat: messages arrive live on the others' pages.
    for person in (leader, member):
        person.goto("/conversations/")
        person.page.get_by_role("link", name=re.compile("bella")).click()
        person.page.wait_for_url(re.compile(chat_path + "$"))
    for person in (buyer, leader, member):
        wait_live(person)
    buyer.page.get_by_label("Message", exact=True).fill("Hello team! Can you build my shop?")
    buyer.page.get_by_role("button", name="Send").click()
    for person in (leader, member):
        expect(person.page.locator("#messages")).to_contain_text(
            "Hello team! Can you build my shop?"
        )
    member.page.get_by_label("Message", exact=True).fill("Hi Bella, we can.")
    member.page.keyboard.press("Enter")
    expect(buyer.page.locator("#messages")).to_contain_text("Hi Bella, we can.")
    expect(leader.page.locator("#messages")).to_contain_text("Hi Bella, we can.")
    for person in (buyer, leader, member):
        person.shot("04-chat-live")

    # The leader types a price: the breakdown and every member's share follow.
    page = leader.page
    page.get_by_label("Title", exact=True).fill("Build the shop")
    page.get_by_label("Price", exact=True).fill("1000.01")
    preview = page.locator(".preview")
    expect(preview.locator('[data-out="fee"]')).to_have_text("100.00 USD")
    expect(preview.locator('[data-out="commission"]')).to_have_text("30.00 USD")
    expect(preview.locator('[data-out="pool"]')).to_have_text("870.01 USD")
    expect(preview.locator(".shares li")).to_have_text(["leo 435.01 USD", "mia 435.00 USD"])
    page.get_by_label("Price", exact=True).fill("1000.00")
    expect(preview.locator(".shares li")).to_have_text(["leo 435.00 USD", "mia 435.00 USD"])
    leader.shot("05-new-proposal-preview")
    page.get_by_role("button", name="Send the proposal").click()
    expect(flash(page)).to_have_text(
        "Your proposal “Build the shop” for 1000.00 USD was sent: platform fee 100.00 USD, "
        "leader commission 30.00 USD, member pool 870.00 USD."
    )

    # The card appears live for the buyer and the member, with their own buttons.
    expect(card(buyer)).to_contain_text("Build the shop")
    expect(card(buyer).locator('[data-confirm="accept"] summary')).to_be_visible()
    expect(card(member)).to_contain_text(
        "Your expected share of the member pool: 435.00 USD (shared equally by 2 members)."
    )
    expect(member.page.locator('[data-confirm="accept"]')).to_have_count(0)
    expect(buyer.page.locator('[data-confirm="withdraw"]')).to_have_count(0)
    member.shot("06-card-member")

    # Not enough money: refused in words, nothing changes.
    answer_yes(buyer, "accept", "Accept and pay into escrow")
    expect(flash(buyer.page)).to_have_text(
        "Your available balance, 500.00 USD, is below the price of 1000.00 USD. "
        "Add funds to accept."
    )
    buyer.shot("07-insufficient-funds")
    expect(card(buyer).locator(".status-badge")).to_have_text("Pending")

    deposit(buyer, "1000.00")
    buyer.goto(chat_path)
    answer_yes(buyer, "accept", "Accept and pay into escrow")
    expect(flash(buyer.page)).to_have_text(
        "You accepted “Build the shop”: 1000.00 USD is now held in escrow."
    )
    expect(card(leader).locator(".status-badge")).to_have_text("Accepted")  # live
    wallet_reads(buyer, "500.00", "1000.00", "1500.00")
    buyer.shot("08-buyer-wallet-escrow")

    # Tasks: the leader creates and assigns, the member moves it, the buyer watches live.
    buyer.goto(chat_path)
    card(buyer).get_by_role("link", name="Task dashboard").click()
    wait_live(buyer)
    for person in (leader, member):
        person.goto(chat_path)
        card(person).get_by_role("link", name="Task dashboard").click()
        wait_live(person)
    page = leader.page
    page.get_by_label("Title", exact=True).fill("Design mockups")
    page.locator("#id_assignee").select_option(label="mia")
    page.get_by_role("button", name="Add the task").click()
    expect(page.locator(".flash")).to_contain_text("Task “Design mockups” added, assigned to mia.")
    todo = buyer.page.locator('[data-column="todo"]')
    expect(todo).to_contain_text("Design mockups")  # live, no reload
    expect(member.page.locator('[data-column="todo"]')).to_contain_text("Design mockups")
    member.page.get_by_role("button", name="Move “Design mockups” to In progress").click()
    expect(buyer.page.locator('[data-column="in_progress"]')).to_contain_text("Design mockups")
    buyer.shot("09-dashboard-in-progress")
    member.page.get_by_role("button", name="Move “Design mockups” to Done").click()
    expect(buyer.page.locator('[data-column="done"]')).to_contain_text("Design mockups")
    expect(leader.page.locator('[data-column="done"]')).to_contain_text("Design mockups")
    expect(buyer.page.locator("form")).to_have_count(1)  # only "Log out": the buyer watches
    buyer.shot("10-dashboard-done")
    member.shot("10-dashboard-done")

    # Deliver; the buyer's card shows the countdown live; the buyer confirms.
    for person in (buyer, leader):
        person.goto(chat_path)
        wait_live(person)
    card(leader).get_by_role("button", name="Mark as delivered").click()
    expect(flash(leader.page)).to_contain_text("“Build the shop” is delivered.")
    expect(card(buyer).locator(".countdown")).to_contain_text(
        "Unless you confirm or dispute it first, the payment is released automatically on"
    )
    expect(card(buyer).get_by_role("button", name="Mark as delivered")).to_have_count(0)
    buyer.shot("11-delivered-countdown")
    answer_yes(buyer, "confirm", "Confirm delivery and release payment")
    expect(flash(buyer.page)).to_have_text(
        "You confirmed “Build the shop”: the escrow of 1000.00 USD was released to the group."
    )
    expect(card(leader).locator(".status-badge")).to_have_text("Completed")

    # Every wallet shows its exact share: 10 % platform, 3 % leader, 87 % shared by two.
    wallet_reads(buyer, "500.00", "0.00", "500.00")
    buyer.shot("12-wallet")
    wallet_reads(leader, "465.00", "0.00", "465.00")
    expect(leader.page.locator(".history")).to_contain_text(
        "Your leader commission on “Build the shop”"
    )
    leader.shot("12-wallet")
    wallet_reads(member, "435.00", "0.00", "435.00")
    expect(member.page.locator(".history")).to_contain_text(
        "Your member share of “Build the shop” +435.00 USD"
    )
    member.shot("12-wallet")
    ledger_clean()
    for person in (buyer, leader, member):
        assert person.console_errors == [], person.console_errors


def test_dispute_path(people, ledger_clean):
    team = off_the_loop(make_team, members=1, deposit="800.00")
    proposal = off_the_loop(bring_to, team, Proposal.Status.IN_PROGRESS, price="600.00")
    off_the_loop(task_create, proposal=proposal, actor=team.leader, title="Homepage")
    buyer, leader = people("buyer"), people("leader")
    buyer.log_in(team.buyer.username)
    leader.log_in(team.leader.username)
    chat_path = f"/conversations/{team.conversation.pk}/"
    leader.goto(chat_path)
    wait_live(leader)

    page = buyer.goto(chat_path)
    card(buyer).get_by_role("link", name="Open a dispute").click()
    expect(page.locator("main")).to_contain_text("freezes the escrow of 600.00 USD")
    page.get_by_label("What went wrong?", exact=True).fill(
        "Nothing was delivered after three weeks."
    )
    buyer.shot("01-open-dispute")
    page.get_by_role("button", name="Open the dispute").click()
    expect(flash(page)).to_contain_text("Your dispute is open.")
    expect(page.locator('[data-field="dispute-status"]')).to_have_text("Open")
    expect(card(leader).locator(".status-badge")).to_have_text("Disputed")  # live
    dispute = Dispute.objects.get()

    page = leader.goto(f"/disputes/{dispute.pk}/")
    page.get_by_label("Add evidence or a reply", exact=True).fill("We sent the mockups on Monday.")
    page.get_by_role("button", name="Add to the dispute").click()
    expect(flash(page)).to_have_text("Your evidence was added to the dispute.")
    leader.shot("02-evidence")
    wallet_reads(buyer, "200.00", "600.00", "800.00")

    off_the_loop(
        dispute_resolve,
        dispute=dispute,
        actor=staff_user(None, "support"),
        outcome="split",
        refund_amount=Money("300.00", "USD"),
        note="Half of the work was done.",
    )
    page = buyer.goto(f"/disputes/{dispute.pk}/")
    expect(page.locator('[data-field="dispute-outcome"]')).to_have_text("Split")
    expect(page.locator("main")).to_contain_text(
        "Staff split it: 300.00 USD back to the buyer, the rest released to the group."
    )
    expect(page.locator("main")).to_contain_text("We sent the mockups on Monday.")
    buyer.shot("03-resolved")
    # 300.00 released: fee 30.00, commission 9.00, pool 261.00 = 130.50 each of two.
    wallet_reads(buyer, "500.00", "0.00", "500.00")
    wallet_reads(leader, "139.50", "0.00", "139.50")
    leader.shot("04-wallet")
    ledger_clean()


MAIN_PAGES = [
    "/",
    "/groups/",
    "/groups/{group}/",
    "/groups/mine/",
    "/groups/{group}/manage/",
    "/conversations/",
    "/conversations/{conversation}/",
    "/proposals/{proposal}/tasks/",
    "/disputes/{dispute}/",
    "/wallet/",
    "/groups/{group}/wallet/",
    "/notifications/",
    "/legacy/projects/",
    "/accounts/password/",
]


def test_main_pages_pass_axe_and_the_chat_fits_a_phone(people):
    team = off_the_loop(make_team, members=1, deposit="900.00")
    proposal = off_the_loop(bring_to, team, Proposal.Status.DISPUTED, price="300.00")
    dispute = Dispute.objects.get()
    ids = {
        "group": team.group.pk,
        "conversation": team.conversation.pk,
        "proposal": proposal.pk,
        "dispute": dispute.pk,
    }
    violations = []
    anonymous = people("anonymous")
    for path in ("/", "/accounts/login/", "/accounts/signup/"):
        anonymous.goto(path)
        violations += anonymous.axe()
    for name, user in (("buyer", team.buyer), ("leader", team.leader)):
        person = people(name)
        person.log_in(user.username)
        for path in MAIN_PAGES:
            person.goto(path.format(**ids))
            violations += person.axe()
    # The chat at a phone's width: nothing wider than the screen, still accessible.
    phone = people("phone", viewport={"width": 375, "height": 740})
    phone.log_in(team.leader.username)
    page = phone.goto(f"/conversations/{team.conversation.pk}/")
    wait_live(phone)
    phone.shot("chat-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    violations += phone.axe()
    page = phone.goto(f"/proposals/{proposal.pk}/tasks/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    phone.shot("tasks-375")
    page = phone.goto("/wallet/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    phone.shot("wallet-375")
    violations += phone.axe()
    assert violations == [], describe(violations)
