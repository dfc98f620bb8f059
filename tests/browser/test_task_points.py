"""Pool by finished work in a real browser, at desktop and phone width: the buyer reads the
rule and the shares on the card, a member finishes a task on the board and every open
board (the leader's too, through the realtime event) shows the new shares. axe-core
stays clean. Screenshots go to `artifacts/task_points/`."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.proposals.factories import accept_with_tasks, make_team

from .conftest import VIEWPORTS, describe, off_the_loop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENS = settings.BASE_DIR / "artifacts" / "task_points"


def shot(person, name: str, width: str):
    SCREENS.mkdir(parents=True, exist_ok=True)
    person.page.screenshot(path=SCREENS / f"{name}-{width}.png", full_page=True)


def setup():
    """The worked example one task short: leader 2 and m2 3 points done, m1's 3 to do."""
    team = make_team(members=2, deposit="1500.00", joined_order=["leader", "m2", "m1"])
    leader, (m1, m2) = team.leader, team.members
    proposal = accept_with_tasks(
        team,
        "100.00",
        [(f"Part {user.username}", user, points, done)
         for user, points, done in ((leader, 2, True), (m2, 3, True), (m1, 3, False))],
    )  # fmt: skip
    return team, proposal


def share_of(page, user):
    return page.locator(f'#task-board [data-sharer="{user.username}"] [data-field="share"]')


def test_members_see_their_share_move_live_as_tasks_finish(people, width, ledger_clean):
    team, proposal = off_the_loop(setup)
    leader, (m1, m2) = team.leader, team.members

    buyer = people("buyer", VIEWPORTS[width])
    buyer.log_in(team.buyer.username)
    card = buyer.goto(f"/conversations/{team.conversation.pk}/").locator(f"#proposal-{proposal.pk}")
    expect(card.locator("[data-pool-split]")).to_contain_text(
        "Member pool: by finished task points"
    )
    expect(card.locator(f'[data-sharer="{m2.username}"] [data-field="share"]')).to_have_text(
        "52.20 USD"
    )
    shot(buyer, "card", width)
    assert buyer.axe() == [], describe(buyer.axe())

    watcher = people("leader", VIEWPORTS[width])
    watcher.log_in(leader.username)
    board = watcher.goto(f"/proposals/{proposal.pk}/tasks/")
    expect(board.locator("#live-status")).to_have_attribute("data-state", "online")
    expect(share_of(board, m1)).to_have_text("0.00 USD")

    worker = people("m1", VIEWPORTS[width])
    worker.log_in(m1.username)
    own = worker.goto(f"/proposals/{proposal.pk}/tasks/")
    own.get_by_role("button", name=f"Move “Part {m1.username}” to Done").click()
    expect(own.locator(".flash")).to_contain_text("moved to Done")

    # The worked example: 21.75, then the tied cent to m2 (joined first), 32.63 and 32.62.
    for page in (own, board):
        expect(share_of(page, m1)).to_have_text("32.62 USD")
        expect(share_of(page, m2)).to_have_text("32.63 USD")
        expect(share_of(page, leader)).to_have_text("21.75 USD")
    shot(worker, "board", width)
    assert worker.axe() == [], describe(worker.axe())
    ledger_clean()
