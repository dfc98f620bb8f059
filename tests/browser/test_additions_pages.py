"""Disputes that bring their own evidence and the sealed ledger, in a real browser at
desktop and phone width: the dispute page shows what the opening froze (terms, tasks with
points, the delivery, the messages) and the suggested refund; support staff open the
desk, find the suggestion offered as the split and apply it with one click, the money
moving to the cent; the wallet marks sealed lines and shows the latest seal hash. axe-core
stays clean and nothing scrolls sideways on the phone. Screenshots go to
`artifacts/additions/`."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.utils.timezone import localtime
from playwright.sync_api import expect

from disputes.services import dispute_open
from escrow.models import EscrowTransaction, LedgerSeal
from escrow.sealing import seal_ledger
from marketplace.core.services import message_send
from proposals.models import Proposal
from proposals.services import proposal_deliver
from tests.factories import staff_user
from tests.proposals.factories import accept_with_tasks, bring_to, fund, make_team, money_state
from tests.proposals.factories import expect as money_expected

from .conftest import VIEWPORTS, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Proposal.Status
SCREENS = settings.BASE_DIR / "artifacts" / "additions"
REASON = (
    "Suggested by the unfinished work frozen at opening: 285.71 USD of 1000.00 USD back to "
    "the buyer."
)


def shot(person, name: str, width: str):
    SCREENS.mkdir(parents=True, exist_ok=True)
    person.page.screenshot(path=SCREENS / f"{name}-{width}.png", full_page=True)


def fits(person, width: str):
    """axe-core clean and, on the phone, nothing wider than the screen."""
    assert person.axe() == [], describe(person.axe())
    if width == "phone":
        page = person.page
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (
            page.url,
            page.evaluate("document.documentElement.scrollWidth"),
        )


def disputed_task_points_proposal():
    """A 1000.00 task-points proposal, delivered with the leader's 2 and m2's 3 points done
    and m1's 2 still to do, then disputed by the buyer after asking about it."""
    team = make_team(members=2, deposit="1500.00", joined_order=["leader", "m2", "m1"])
    leader, (m1, m2) = team.leader, team.members
    proposal = accept_with_tasks(
        team,
        "1000.00",
        [("Catalogue", leader, 2, True), ("Checkout", m2, 3, True), ("Search", m1, 2, False)],
    )
    proposal_deliver(proposal=proposal, actor=leader)
    message_send(conversation=team.conversation, sender=team.buyer, body="Where is search?")
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Search is missing.")
    support = staff_user("sam", "support")
    return team, proposal, dispute, support


def test_the_dispute_shows_its_evidence_and_the_desk_applies_the_suggestion(
    people, width, ledger_clean
):
    team, proposal, dispute, support = off_the_loop(disputed_task_points_proposal)
    leader, (m1, m2) = team.leader, team.members

    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    page = buyer.goto(f"/disputes/{dispute.pk}/")
    snapshot = page.locator(f'[data-snapshot="{dispute.pk}"]')
    expect(snapshot.locator('[data-field="snapshot-price"]')).to_have_text("1000.00 USD")
    expect(snapshot.locator('[data-field="snapshot-pool-split"]')).to_have_text(
        "By finished task points"
    )
    # 1000.00 * 2 of 7 points unfinished = 285.714…, half up.
    expect(snapshot.locator('[data-field="suggested-refund"]')).to_have_text("285.71 USD")
    tasks = snapshot.locator(".snapshot-tasks li")
    expect(tasks).to_have_count(3)
    expect(tasks.nth(0)).to_have_text(f"Catalogue Done 2 points, {leader.username}")
    expect(tasks.nth(1)).to_have_text(f"Checkout Done 3 points, {m2.username}")
    expect(tasks.nth(2)).to_have_text(f"Search To do 2 points, {m1.username}")
    # Oldest first: the proposal's announcements, the delivery time, then the question.
    timeline = snapshot.locator(".snapshot-timeline li")
    expect(timeline).to_have_text(
        [
            re.compile(r"^System .+New proposal “Shop” for 1000\.00 USD\.$"),
            re.compile(r"^System .+“Shop” was accepted: 1000\.00 USD is held in escrow\.$"),
            re.compile(r"^Delivered \d{1,2} \w{3} \d{4}, \d\d:\d\d$"),
            re.compile(r"^System .+“Shop” was delivered: the buyer can confirm it"),
            re.compile(rf"^{team.buyer.username} .+Where is search\?$"),
        ]
    )
    proposal.refresh_from_db()
    expect(timeline.nth(2).locator("time")).to_have_attribute(
        "datetime", localtime(proposal.delivered_at).isoformat()
    )
    shot(buyer, "dispute-snapshot", width)
    fits(buyer, width)

    desk = people("support", VIEWPORTS[width])
    desk.log_in(support.username)
    page = desk.goto("/admin/disputes/dispute/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    fits(desk, width)
    page.locator("#result_list tbody tr").first.get_by_role("link", name=str(dispute.pk)).click()
    expect(page.locator(".field-suggested_refund_amount")).to_contain_text("285.71")
    fits(desk, width)
    page.get_by_role("link", name="Resolve dispute").click()
    expect(page.locator("#suggestion")).to_contain_text(
        "Suggested: split, 285.71 USD back to the buyer"
    )
    form = page.locator("form[method=post]")
    expect(form.get_by_label("Split: refund part, release the rest")).to_be_checked()
    expect(form.locator("[name=refund_amount]")).to_have_value("285.71")
    expect(form.locator("[name=note]")).to_have_value(REASON)
    shot(desk, "dispute-desk-suggestion", width)
    fits(desk, width)

    form.get_by_role("button", name="Resolve").click()  # the one click
    expect(page.locator(".messagelist")).to_contain_text(f"Dispute #{dispute.pk} resolved: split.")
    fits(desk, width)

    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome, dispute.resolution_note) == (
        "resolved",
        "split",
        REASON,
    )
    assert f"{dispute.refund_amount.amount:.2f}" == "285.71"
    assert LogEntry.objects.get(object_id=str(dispute.pk)).change_message == (
        f"Resolved (split): {REASON}"
    )
    # 714.29 released: fee 71.43, commission 21.43, pool 621.43 by done points 2 : 3 : 0
    # (leader, m2, m1): 248.572 and 372.858, the leftover cent to m2's larger remainder.
    shares = EscrowTransaction.objects.filter(
        idempotency_key__startswith="settle/", kind=EscrowTransaction.Kind.MEMBER_SHARE
    ).order_by("leg")
    assert [(leg.to_wallet.user, f"{leg.amount.amount}") for leg in shares] == [
        (leader, "248.57"),
        (m2, "372.86"),
    ]
    assert money_state(team) == money_expected(
        team,
        buyer=("785.71", "0.00"),
        leader=("270.00", "0.00"),
        m2=("372.86", "0.00"),
        group=("0.00", "642.86"),
        platform="71.43",
    )
    ledger_clean()


def accepted_then_sealed_then_funded():
    """The buyer's deposit and a proposal's lock, sealed; then a second deposit, not."""
    team = make_team(members=1, deposit="900.00")
    bring_to(team, S.ACCEPTED, price="300.00")
    seal = seal_ledger(settle=timedelta(0))
    fund(team.buyer, "50.00")
    return team, seal


def test_the_wallet_marks_sealed_lines_and_shows_the_latest_seal(people, width, ledger_clean):
    team, seal = off_the_loop(accepted_then_sealed_then_funded)
    assert (seal.row_count, LedgerSeal.objects.count()) == (2, 1)

    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    page = buyer.goto("/wallet/")
    rows = page.locator("table.ledger tbody tr")
    expect(rows).to_have_count(3)
    # Newest first: the unsealed deposit, then the sealed lock and deposit.
    expect(rows.nth(0).locator("[data-sealed]")).to_have_count(0)
    expect(rows.nth(0).locator('[data-label="Date"]')).not_to_contain_text("sealed")
    for row in (rows.nth(1), rows.nth(2)):
        tag = row.locator("[data-sealed]")
        expect(tag).to_have_text("sealed")
        expect(tag).to_have_attribute("title", f"Seal #{seal.pk}: {seal.hash}")
    expect(page.locator("[data-seal-hash]")).to_have_text(seal.hash)
    expect(page.locator("[data-latest-seal]")).to_contain_text(
        f"sealed through transaction #{seal.sealed_through_id}"
    )
    shot(buyer, "wallet-sealed", width)
    fits(buyer, width)

    # A second seal takes the deposit in and becomes the one shown.
    newer = off_the_loop(seal_ledger, settle=timedelta(0))
    page.reload()
    expect(rows.locator("[data-sealed]")).to_have_count(3)
    expect(rows.nth(0).locator("[data-sealed]")).to_have_attribute(
        "title", f"Seal #{newer.pk}: {newer.hash}"
    )
    expect(page.locator("[data-seal-hash]")).to_have_text(newer.hash)
    fits(buyer, width)
    ledger_clean()
