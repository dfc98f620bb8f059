"""The tasks API (CONTRACT.md, "Tasks"): the leader splits an accepted proposal's work,
members move their own tasks, the buyer reads; strangers get 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disputes.services import dispute_open
from marketplace.core.services import group_leave
from proposals.models import Proposal, Task
from proposals.services import proposal_cancel, proposal_confirm, proposal_deliver, task_create
from tests.factories import UserFactory
from tests.proposals.factories import bring_to, expect, make_team, money_state

pytestmark = pytest.mark.django_db
S = Proposal.Status


@pytest.fixture
def team():
    return make_team(members=2, deposit="1500.00")


@pytest.fixture
def proposal(team):
    return bring_to(team, S.ACCEPTED)


@pytest.fixture
def stranger():
    return UserFactory(username="stranger")


@pytest.fixture
def staff():
    return UserFactory(username="staffer", is_staff=True)


def iso(moment):
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def expected_task(task: Task) -> dict:
    task.refresh_from_db()
    assignee = task.assigned_to
    return {
        "id": task.pk,
        "proposal_id": task.proposal_id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "assigned_to": None
        if assignee is None
        else {"id": assignee.pk, "username": assignee.username},
        "points": task.points,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "created_at": iso(task.created_at),
        "updated_at": iso(task.updated_at),
    }


def create(client, proposal, url="/api/tasks/create", **extra):
    body = {"proposal_id": proposal.pk, "title": "Design the logo", **extra}
    return client.post(url, body, format="json")


def patch(client, task, body):
    return client.patch(f"/api/tasks/{task.pk}", body, format="json")


def make_task(team, proposal, assignee=None, title="Task"):
    return task_create(proposal=proposal, actor=team.leader, title=title, assigned_to=assignee)


# --- create -------------------------------------------------------------------------


def test_the_leader_creates_a_task_for_a_member(client_for, team, proposal, ledger_clean):
    m1 = team.members[0]

    response = create(
        client_for(team.leader),
        proposal,
        description="SVG please.",
        assigned_to_id=m1.pk,
        due_date="2031-01-31",
    )

    assert response.status_code == 201
    task = Task.objects.get()
    assert response.json() == expected_task(task)
    body = response.json()
    assert body["status"] == "todo"
    assert body["assigned_to"] == {"id": m1.pk, "username": m1.username}
    assert (body["description"], body["due_date"]) == ("SVG please.", "2031-01-31")
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


@pytest.mark.parametrize("url", ["/api/tasks/create/", "/api/tasks", "/api/tasks/"])
def test_create_through_the_alias_and_trailing_slashes(client_for, team, proposal, url):
    response = create(client_for(team.leader), proposal, url=url)

    assert response.status_code == 201
    assert response.json()["assigned_to"] is None
    assert response.json()["id"] == Task.objects.get().pk


def test_the_leader_may_assign_a_task_to_themself_and_create_while_in_progress(client_for, team):
    proposal = bring_to(team, S.IN_PROGRESS)

    response = create(client_for(team.leader), proposal, assigned_to_id=team.leader.pk)

    assert response.status_code == 201
    assert response.json()["assigned_to"]["id"] == team.leader.pk


@pytest.mark.parametrize(
    "status",
    [S.PENDING, S.DELIVERED, S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.DISPUTED],
)
def test_tasks_are_created_only_while_accepted_or_in_progress(client_for, status):
    team = make_team(members=1)
    proposal = bring_to(team, status)

    response = create(client_for(team.leader), proposal)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert not Task.objects.exists()


def test_the_assignee_must_be_a_current_member(client_for, team, proposal, stranger):
    leaver = team.members[1]
    group_leave(group=team.group, user=leaver)

    for user_id in (stranger.pk, team.buyer.pk, leaver.pk, 999999999):
        response = create(client_for(team.leader), proposal, assigned_to_id=user_id)
        assert response.status_code == 400, user_id
        error = response.json()["error"]
        assert error["code"] == "not_a_member"
        assert list(error["fields"]) == ["assigned_to_id"]
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"proposal_id": "abc"}, "proposal_id"),
        ({"proposal_id": None}, "proposal_id"),
        ({"assigned_to_id": "me"}, "assigned_to_id"),
        ({"due_date": "soon"}, "due_date"),
    ],
)
def test_create_names_the_invalid_field(client_for, team, proposal, change, field):
    response = create(client_for(team.leader), proposal, **change)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert not Task.objects.exists()


@pytest.mark.parametrize(("role", "status"), [("buyer", 403), ("member", 403), ("staff", 404)])
def test_only_the_leader_creates(client_for, team, proposal, staff, role, status):
    # Staff without a part in the proposal do not see it (404), like strangers.
    user = {"buyer": team.buyer, "member": team.members[0], "staff": staff}[role]

    response = create(client_for(user), proposal)

    assert response.status_code == status
    assert response.json()["error"]["code"] == {403: "permission_denied", 404: "not_found"}[status]
    assert not Task.objects.exists()


def test_strangers_unknown_proposals_and_anonymous(client_for, anon, team, proposal, stranger):
    assert create(client_for(stranger), proposal).status_code == 404
    assert create(client_for(team.leader), Proposal(pk=proposal.pk + 100)).status_code == 404
    anonymous = create(anon, proposal)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    assert not Task.objects.exists()


# --- list ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["buyer", "leader", "m1", "m2"])
def test_participants_list_the_tasks_in_order_of_creation(client_for, team, proposal, role):
    first = make_task(team, proposal, team.members[0], "First")
    second = make_task(team, proposal, None, "Second")
    other_team = make_team(members=0)
    make_task(other_team, bring_to(other_team, S.ACCEPTED), None, "Elsewhere")
    user = {"buyer": team.buyer, "leader": team.leader}.get(role) or team.people[role]

    response = client_for(user).get(f"/api/tasks?proposal_id={proposal.pk}")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [expected_task(first), expected_task(second)],
    }


def test_the_list_is_404_for_strangers_and_leavers_and_401_anonymous(
    client_for, anon, team, proposal, stranger
):
    make_task(team, proposal)
    leaver = team.members[1]
    group_leave(group=team.group, user=leaver)

    for user in (stranger, leaver):
        response = client_for(user).get(f"/api/tasks?proposal_id={proposal.pk}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert (
        client_for(team.buyer).get(f"/api/tasks?proposal_id={proposal.pk + 9}").status_code == 404
    )
    assert anon.get(f"/api/tasks?proposal_id={proposal.pk}").status_code == 401


@pytest.mark.parametrize("query", ["", "?proposal_id=", "?proposal_id=abc", "?proposal_id=-1"])
def test_the_list_needs_a_proposal_id(client_for, team, proposal, query):
    response = client_for(team.buyer).get(f"/api/tasks{query}")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["proposal_id"]


def test_the_list_is_paginated(client_for, team, proposal):
    for index in range(21):
        make_task(team, proposal, title=f"T{index}")

    first = client_for(team.buyer).get(f"/api/tasks/?proposal_id={proposal.pk}").json()

    assert first["count"] == 21
    assert [row["title"] for row in first["results"]] == [f"T{i}" for i in range(20)]
    assert len(client_for(team.buyer).get(first["next"]).json()["results"]) == 1


def test_the_list_costs_the_same_queries_for_2_and_10_tasks(client_for, team, proposal):
    client = client_for(team.buyer)
    url = f"/api/tasks?proposal_id={proposal.pk}"

    def queries(total):
        while Task.objects.count() < total:
            make_task(team, proposal, team.members[Task.objects.count() % 2])
        client.get(url)  # warm up: the rollout flag is then in the cache
        with CaptureQueriesContext(connection) as context:
            assert len(client.get(url).json()["results"]) == total
        return len(context)

    assert queries(2) == queries(10)


# --- update -------------------------------------------------------------------------


def test_the_assignee_starts_their_task_and_the_proposal_starts(
    client_for, team, proposal, ledger_clean
):
    task = make_task(team, proposal, team.members[0])
    m1 = client_for(team.members[0])

    started = patch(m1, task, {"status": "in_progress"})
    done = patch(m1, task, {"status": "done"})

    assert started.status_code == 200
    assert started.json()["status"] == "in_progress"
    assert done.status_code == 200
    assert done.json() == expected_task(task)
    assert done.json()["status"] == "done"
    proposal.refresh_from_db()
    assert proposal.status == S.IN_PROGRESS
    assert proposal.started_at is not None
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


def test_the_leader_moves_and_reassigns_any_task(client_for, team, proposal):
    task = make_task(team, proposal, team.members[0])
    leader = client_for(team.leader)
    m2 = team.members[1]

    reassigned = patch(leader, task, {"assigned_to_id": m2.pk, "status": "done"})
    unassigned = client_for(team.leader).patch(
        f"/api/tasks/{task.pk}/", {"assigned_to_id": None}, format="json"
    )

    assert reassigned.status_code == 200
    assert reassigned.json()["assigned_to"] == {"id": m2.pk, "username": m2.username}
    assert reassigned.json()["status"] == "done"
    assert unassigned.status_code == 200
    assert unassigned.json() == expected_task(task)
    assert (unassigned.json()["assigned_to"], unassigned.json()["status"]) == (None, "done")


def test_an_empty_patch_changes_nothing_but_answers_the_task(client_for, team, proposal):
    task = make_task(team, proposal, team.members[0])

    response = patch(client_for(team.members[0]), task, {})

    assert response.status_code == 200
    assert response.json()["status"] == "todo"
    assert response.json()["assigned_to"]["id"] == team.members[0].pk


@pytest.mark.parametrize(("role", "status"), [("buyer", 403), ("m2", 403), ("staff", 404)])
def test_others_cannot_move_a_task(client_for, team, proposal, staff, role, status):
    task = make_task(team, proposal, team.members[0])
    user = staff if role == "staff" else team.people[role]

    response = patch(client_for(user), task, {"status": "done"})

    assert response.status_code == status
    task.refresh_from_db()
    assert task.status == Task.Status.TODO


def test_an_assignee_cannot_reassign(client_for, team, proposal):
    task = make_task(team, proposal, team.members[0])

    response = patch(client_for(team.members[0]), task, {"assigned_to_id": team.members[1].pk})

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.assigned_to_id == team.members[0].pk


def test_assigning_to_a_non_member_is_400(client_for, team, proposal, stranger):
    task = make_task(team, proposal)

    for user_id in (stranger.pk, team.buyer.pk, 999999999):
        response = patch(client_for(team.leader), task, {"assigned_to_id": user_id})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "not_a_member"
        assert list(response.json()["error"]["fields"]) == ["assigned_to_id"]
    task.refresh_from_db()
    assert task.assigned_to_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"status": None}, "status"),
        ({"assigned_to_id": "x"}, "assigned_to_id"),
    ],
)
def test_update_names_the_invalid_field(client_for, team, proposal, body, field):
    task = make_task(team, proposal)

    response = patch(client_for(team.leader), task, body)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


# How a proposal with tasks leaves the working statuses, through the services.
LEAVE_WORK = {
    S.DELIVERED: lambda team, p: [proposal_deliver(proposal=p, actor=team.leader)],
    S.COMPLETED: lambda team, p: [
        proposal_deliver(proposal=p, actor=team.leader),
        proposal_confirm(proposal=p, actor=team.buyer),
    ],
    S.CANCELLED: lambda team, p: [proposal_cancel(proposal=p, actor=team.leader)],
    S.DISPUTED: lambda team, p: [dispute_open(proposal=p, actor=team.buyer, reason="Late.")],
}


@pytest.mark.parametrize("status", list(LEAVE_WORK))
def test_tasks_are_frozen_once_the_proposal_leaves_work(client_for, status):
    team = make_team(members=1)
    proposal = bring_to(team, S.ACCEPTED)
    task = make_task(team, proposal, team.members[0])
    LEAVE_WORK[status](team, proposal)
    proposal.refresh_from_db()
    assert proposal.status == status

    for client in (client_for(team.leader), client_for(team.members[0])):
        response = patch(client, task, {"status": "done"})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_transition"
    task.refresh_from_db()
    assert task.status == Task.Status.TODO


def test_update_is_404_for_strangers_leavers_and_unknown_tasks_and_401_anonymous(
    client_for, anon, team, proposal, stranger
):
    leaver = team.members[1]
    task = make_task(team, proposal, leaver)
    group_leave(group=team.group, user=leaver)  # their open task is unassigned

    for user in (stranger, leaver):
        response = patch(client_for(user), task, {"status": "done"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert patch(client_for(team.leader), Task(pk=task.pk + 50), {}).status_code == 404
    assert patch(anon, task, {"status": "done"}).status_code == 401
    task.refresh_from_db()
    assert (task.status, task.assigned_to_id) == (Task.Status.TODO, None)
