"""The snapshot and the suggestion reach the parties' sockets with the opening, in the
API's shape (`dispute.updated`), once the opening has committed."""

import pytest

from disputes.services import dispute_open
from proposals import services
from proposals.models import Task
from tests.proposals.factories import make_team, propose
from tests.realtime.conftest import connect, db, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def test_opening_pushes_the_snapshot_and_the_suggestion_to_the_group(transactional_db):
    team = make_team(members=1)
    proposal = propose(team, "1000.00")
    services.proposal_accept(proposal=proposal, actor=team.buyer)
    for status, points in ((Task.Status.DONE, 1), (Task.Status.TODO, 2)):
        Task.objects.create(proposal=proposal, title=f"{status} work", status=status, points=points)
    path = f"/ws/conversations/{team.conversation.pk}/"
    headers = token_headers(team.members[0])

    async def scenario():
        socket, _, _ = await connect(path, headers)
        await db(dispute_open, proposal=proposal, actor=team.buyer, reason="Late")
        while (frame := await socket.receive_json_from(timeout=5))["type"] != "dispute.updated":
            pass
        dispute = frame["dispute"]
        # 1000.00 * 2/3 = 666.666..., half-up 666.67.
        assert dispute["suggested_refund_amount"] == "666.67"
        assert [(item["kind"], item["topic"]) for item in dispute["evidence"][:3]] == [
            ("auto", "terms"),
            ("auto", "task"),
            ("auto", "task"),
        ]
        await socket.disconnect()

    run(scenario)
