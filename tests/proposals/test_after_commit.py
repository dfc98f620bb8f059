"""A task change that committed is reported as made even when its after-commit frame
cannot be read. Found by the bank test: a backend terminated right after COMMIT made
`task_update` raise OperationalError (the API's 503, "nothing was written") for a task
that was done. Like `disputes.events`, the task's frame is robust."""

import pytest
from django.db import connection, transaction

from proposals import services
from proposals.models import Proposal, Task
from tests.marketplace.test_database_unavailable import kill_this_connection
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_finished_task_is_not_reported_as_failed_when_its_frame_cannot_be_read():
    team = make_team(members=1)
    proposal = bring_to(team, Proposal.Status.ACCEPTED)
    task = services.task_create(
        proposal=proposal, actor=team.leader, title="Logo", assigned_to=team.members[0]
    )
    task = Task.objects.get(pk=task.pk)  # as a caller has it: its proposal not loaded

    try:
        with transaction.atomic():
            # Runs first after the commit, before the task's frame is read.
            transaction.on_commit(kill_this_connection)
            services.task_update(task=task, actor=team.members[0], status=Task.Status.DONE)
    finally:
        connection.close()

    assert Task.objects.get(pk=task.pk).status == Task.Status.DONE
