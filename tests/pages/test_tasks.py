"""The task dashboard: the leader creates and assigns, members move their own tasks, the
buyer watches; htmx posts get the fresh board back."""

import pytest

from proposals.models import Proposal, Task
from proposals.services import task_create
from tests.factories import UserFactory
from tests.proposals.factories import bring_to

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db
S = Proposal.Status


@pytest.fixture
def accepted(team):
    return bring_to(team, S.ACCEPTED)


def column(response, status) -> str:
    html = response.content.decode()
    start = html.index(f'data-column="{status}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_every_role_sees_the_dashboard(as_user, team, accepted):
    task_create(proposal=accepted, actor=team.leader, title="Logo", assigned_to=team.members[0])
    for who in ("buyer", "leader", "m1", "m2"):
        page = as_user(team.people[who]).get(f"/proposals/{accepted.pk}/tasks/")
        assert page.status_code == 200
        body = text(page)
        assert "To do 1 Logo Assigned to " + team.members[0].username in body
        assert "In progress 0" in body and "Done 0" in body
    buyer = as_user(team.buyer).get(f"/proposals/{accepted.pk}/tasks/")
    assert "You are the buyer" in text(buyer)
    assert "<form" not in column(buyer, "todo")
    assert "Add a task" not in text(buyer)
    assert 'data-conversation-socket="/ws/conversations/' in buyer.content.decode()
    assert "Add a task" in text(as_user(team.leader).get(f"/proposals/{accepted.pk}/tasks/"))
    # m2 cannot move m1's task: no buttons
    m2 = as_user(team.members[1]).get(f"/proposals/{accepted.pk}/tasks/")
    assert "Move “Logo”" not in m2.content.decode()
    m1 = as_user(team.members[0]).get(f"/proposals/{accepted.pk}/tasks/")
    assert "Move “Logo” to In progress" in m1.content.decode()


def test_the_leader_creates_and_assigns_and_members_move_their_own(as_user, team, accepted):
    leader = as_user(team.leader)
    m1, m2 = team.members
    response = csrf_post(
        leader,
        f"/proposals/{accepted.pk}/tasks/new/",
        {"title": "Checkout", "description": "Stripe-less", "assignee": m1.pk, "due_date": ""},
    )
    assert response["Location"] == f"/proposals/{accepted.pk}/tasks/"
    assert flashes(response) == [f"Task “Checkout” added, assigned to {m1.username}."]
    task = Task.objects.get()

    response = csrf_post(as_user(m2), f"/tasks/{task.pk}/move/", {"status": "done"})
    assert flashes(response) == [
        "You are not allowed to do that. Only the task's assignee or the group's leader can "
        "change it."
    ]
    response = csrf_post(as_user(m1), f"/tasks/{task.pk}/move/", {"status": "in_progress"})
    assert flashes(response) == ["“Checkout” moved to In progress."]
    task.refresh_from_db()
    accepted.refresh_from_db()
    assert task.status == "in_progress"
    assert accepted.status == S.IN_PROGRESS  # the first started task starts the proposal

    response = csrf_post(leader, f"/tasks/{task.pk}/assign/", {f"task{task.pk}-assignee": m2.pk})
    assert flashes(response) == [f"“Checkout” is now assigned to {m2.username}."]
    response = csrf_post(as_user(team.buyer), f"/tasks/{task.pk}/move/", {"status": "done"})
    assert flashes(response)[0].startswith("You are not allowed to do that.")
    task.refresh_from_db()
    assert (task.status, task.assigned_to) == ("in_progress", m2)


def test_an_htmx_move_returns_the_board_with_its_message(as_user, team, accepted):
    task = task_create(
        proposal=accepted, actor=team.leader, title="Copy", assigned_to=team.members[0]
    )
    response = csrf_post(
        as_user(team.members[0]),
        f"/tasks/{task.pk}/move/",
        {"status": "done"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="task-board"')
    assert "“Copy” moved to Done." in text(response)
    assert "Copy" in column(response, "done")


def test_the_board_partial_is_what_htmx_refetches(as_user, team, accepted):
    response = as_user(team.buyer).get(f"/proposals/{accepted.pk}/tasks/board/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="task-board"')
    assert 'hx-trigger="mp-task from:body, mp-proposal from:body"' in html


def test_tasks_cannot_be_added_to_a_pending_proposal(as_user, team):
    pending = bring_to(team, S.PENDING)
    page = as_user(team.leader).get(f"/proposals/{pending.pk}/tasks/")
    assert "Tasks can change only while the proposal is accepted or in progress" in text(page)
    response = csrf_post(
        as_user(team.leader), f"/proposals/{pending.pk}/tasks/new/", {"title": "Early"}
    )
    assert flashes(response) == [
        "That step is not possible any more: Tasks can only change while the proposal is "
        "accepted or in progress, not pending. The page now shows the current state."
    ]
    assert not Task.objects.exists()


def test_strangers_get_404_on_the_dashboard_and_tasks(as_user, team, accepted):
    task = task_create(proposal=accepted, actor=team.leader, title="Secret")
    client = as_user(UserFactory())
    assert client.get(f"/proposals/{accepted.pk}/tasks/").status_code == 404
    assert client.get(f"/proposals/{accepted.pk}/tasks/board/").status_code == 404
    assert csrf_post(client, f"/tasks/{task.pk}/move/", {"status": "done"}).status_code == 404
