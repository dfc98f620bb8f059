"""A write that committed answers its success, even when the database connection is lost
right after the commit. Found by the bank test: leaving a group and opening a dispute
read their answer after the service had committed, so a connection lost in between
answered 503 ("nothing was written, retry") for a change that was made. The handlers now
read their answer inside the write's transaction. The fault is real: the backend is
terminated right after the write's transaction commits."""

from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from disputes.models import Dispute
from marketplace.core.models import GroupMembership
from proposals.models import Proposal
from tests.factories import GroupFactory, UserFactory
from tests.marketplace.test_database_unavailable import kill_this_connection
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def connection_lost_after_commit_of(statement: str):
    """Terminate the connection's backend as soon as the transaction that ran
    `statement` (the start of an SQL statement) commits."""
    armed = []

    def watch(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith(statement) and not armed:
            armed.append(True)
            transaction.on_commit(kill_this_connection)
        return result

    try:
        with connection.execute_wrapper(watch):
            yield armed
    finally:
        connection.close()  # the killed connection; the next query opens a new one


def test_leaving_a_group_answers_its_success(client_for):
    member = UserFactory()
    group = GroupFactory(members=[member])

    with connection_lost_after_commit_of('DELETE FROM "group_members"') as armed:
        response = client_for(member).post(f"/api/groups/{group.pk}/leave")

    assert armed, "the fault was not injected"
    assert response.status_code == 200, response.content
    assert not GroupMembership.objects.filter(group=group, user=member).exists()


def test_opening_a_dispute_answers_its_success(client_for):
    team = make_team(deposit="1000.00")
    proposal = bring_to(team, Proposal.Status.DELIVERED)

    with connection_lost_after_commit_of('INSERT INTO "disputes"') as armed:
        response = client_for(team.buyer).post(
            "/api/disputes", {"proposal_id": proposal.pk, "reason": "Broken."}, format="json"
        )

    assert armed, "the fault was not injected"
    assert response.status_code == 201, response.content
    assert Dispute.objects.get(proposal=proposal).pk == response.json()["id"]
