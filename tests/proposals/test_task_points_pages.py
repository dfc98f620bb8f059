"""Pool by finished work on the pages: the leader picks the rule on the proposal form and
gives tasks points; the card shows the rule and each participant's share so far (the
buyer before accepting); the task board shows the points and the shares as tasks move."""

import pytest
from django.test import Client

from proposals.models import Proposal, Task
from proposals.services import proposal_accept, task_create, task_update
from tests.pages.conftest import csrf_post, text
from tests.proposals.factories import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    # m2 joined before m1: the tie in the worked example goes to m2.
    return make_team(members=2, deposit="1500.00", joined_order=["leader", "m2", "m1"])


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def send(team, pool_split: str) -> Proposal:
    leader = signed_in(team.leader)
    response = csrf_post(
        leader,
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Shop", "price": "100.00", "currency": "USD", "pool_split": pool_split},
    )
    assert response.status_code == 302
    return Proposal.objects.get()


def test_the_form_offers_the_rule_and_the_buyer_sees_it_before_accepting(team):
    chat = signed_in(team.leader).get(f"/conversations/{team.conversation.pk}/")
    assert 'name="pool_split"' in chat.content.decode()

    proposal = send(team, "task_points")
    assert proposal.pool_split == "task_points"
    page = text(signed_in(team.buyer).get(f"/conversations/{team.conversation.pk}/"))

    assert "Member pool: by finished task points" in page
    leader, (m1, m2) = team.leader, team.members
    for user in (leader, m2, m1):
        assert f"{user.username} · 0 points done 29.00" in page


def test_the_board_shows_points_and_the_shares_so_far(team):
    proposal = send(team, "task_points")
    proposal_accept(proposal=proposal, actor=team.buyer)
    leader, (m1, m2) = team.leader, team.members
    board = f"/proposals/{proposal.pk}/tasks/"
    created = csrf_post(
        signed_in(team.leader),
        f"/proposals/{proposal.pk}/tasks/new/",
        {"title": "Checkout", "assignee": m1.pk, "due_date": "", "points": "3"},
    )
    assert created.status_code == 302
    checkout = Task.objects.get(title="Checkout")
    assert checkout.points == 3
    for user, points in ((leader, 2), (m2, 3)):
        task = task_create(
            proposal=proposal, actor=leader, title=f"T{points}", assigned_to=user, points=points
        )
        task_update(task=task, actor=leader, status=Task.Status.DONE)

    before = text(signed_in(m1).get(board))
    task_update(task=checkout, actor=m1, status=Task.Status.DONE)
    after = text(signed_in(m1).get(board))

    assert f"Assigned to {m1.username} · 3 points" in before
    # leader 2 and m2 3 done: 87.00 → 34.80 and 52.20; m1 nothing yet.
    assert f"{m2.username} · 3 points done 52.20" in before
    assert f"{m1.username} · 0 points done 0.00" in before
    # The worked example once m1's 3 points are done: the tied cent to m2.
    assert f"{leader.username} · 2 points done 21.75" in after
    assert f"{m2.username} · 3 points done 32.63" in after
    assert f"{m1.username} · 3 points done 32.62" in after


def test_an_equal_proposal_says_so(team):
    send(team, "equal")

    page = text(signed_in(team.buyer).get(f"/conversations/{team.conversation.pk}/"))

    assert "Member pool: equal shares" in page
    assert "points done" not in page
