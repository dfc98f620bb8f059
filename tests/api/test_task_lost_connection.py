"""Adding and finishing a task answer their success even when the database connection is
lost right after the commit. Found by the bank test's task operations: finishing read the
task's assignee after the service had committed, so a connection lost in between
answered 503 ("nothing was written, retry") for a change that was made. Both handlers now
read their answer inside the write's transaction, as the others do (adding read nothing
late, and its test keeps it so)."""

import pytest

from proposals import services
from proposals.models import Proposal, Task
from tests.api.test_lost_connection_after_commit import connection_lost_after_commit_of
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team():
    return make_team(members=1)


def test_adding_a_task_answers_its_success(client_for, team):
    proposal = bring_to(team, Proposal.Status.ACCEPTED)
    member = team.members[0]

    with connection_lost_after_commit_of('INSERT INTO "project_tasks"') as armed:
        response = client_for(team.leader).post(
            "/api/tasks",
            {"proposal_id": proposal.pk, "title": "Logo", "assigned_to_id": member.pk},
            format="json",
        )

    assert armed, "the fault was not injected"
    assert response.status_code == 201, response.content
    assert Task.objects.get(proposal=proposal).pk == response.json()["id"]


def test_finishing_a_task_answers_its_success(client_for, team):
    proposal = bring_to(team, Proposal.Status.ACCEPTED)
    member = team.members[0]
    task = services.task_create(
        proposal=proposal, actor=team.leader, title="Logo", assigned_to=member, points=3
    )

    with connection_lost_after_commit_of('UPDATE "project_tasks"') as armed:
        response = client_for(member).patch(
            f"/api/tasks/{task.pk}", {"status": "done"}, format="json"
        )

    assert armed, "the fault was not injected"
    assert response.status_code == 200, response.content
    assert response.json()["assigned_to"]["id"] == member.pk
    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE
