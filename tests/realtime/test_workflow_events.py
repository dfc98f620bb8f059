"""Proposal and task changes reach every participant's socket, in the API's shapes, only
after they commit."""

import pytest

from proposals import services
from proposals.models import Proposal
from tests.factories import staff_user
from tests.proposals.factories import make_team, propose

from .conftest import connect, db, run, token_headers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def team(transactional_db):
    team = make_team(members=1)
    team.path = f"/ws/conversations/{team.conversation.pk}/"
    return team


async def next_of_type(socket, kind: str) -> dict:
    """The next frame of `kind`, skipping others (system messages come with each event)."""
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return frame


def test_accepting_a_proposal_updates_every_participant(team):
    proposal = propose(team, "1000.00")
    headers = [token_headers(user) for user in (team.buyer, team.leader, team.members[0])]

    async def scenario():
        sockets = [(await connect(team.path, h))[0] for h in headers]
        await db(services.proposal_accept, proposal=proposal, actor=team.buyer)
        for socket in sockets:
            frame = await next_of_type(socket, "proposal.updated")
            card = frame["proposal"]
            assert (card["id"], card["status"], card["escrow_amount"], card["price"]) == (
                proposal.pk,
                "accepted",
                "1000.00",
                "1000.00",
            )
            assert (card["platform_fee"], card["leader_commission"], card["member_pool"]) == (
                "100.00",
                "30.00",
                "870.00",
            )
            await socket.disconnect()

    run(scenario)


def test_the_system_message_of_an_event_arrives_with_its_metadata(team):
    headers = token_headers(team.buyer)

    async def scenario():
        socket, _, _ = await connect(team.path, headers)
        proposal = await db(propose, team, "250.00")
        frame = await next_of_type(socket, "message.created")
        assert frame["message"]["sender"] is None
        assert frame["message"]["metadata"] == {
            "type": "proposal",
            "proposal_id": proposal.pk,
            "status": "pending",
        }
        await socket.disconnect()

    run(scenario)


def test_a_refused_accept_announces_nothing(team):
    proposal = propose(team, "5000.00")  # the buyer has 1500.00
    headers = token_headers(team.buyer)

    async def scenario():
        socket, _, _ = await connect(team.path, headers)
        with pytest.raises(Exception) as refusal:
            await db(services.proposal_accept, proposal=proposal, actor=team.buyer)
        assert refusal.value.code == "insufficient_funds"
        assert await socket.receive_nothing(timeout=0.5)
        assert (await db(Proposal.objects.get, pk=proposal.pk)).status == "pending"
        await socket.disconnect()

    run(scenario)


def test_task_changes_reach_the_buyer_watching_the_dashboard(team):
    proposal = propose(team, "300.00")
    services.proposal_accept(proposal=proposal, actor=team.buyer)
    member = team.members[0]
    headers = token_headers(team.buyer)

    async def scenario():
        socket, _, _ = await connect(team.path, headers)
        task = await db(
            services.task_create,
            proposal=proposal,
            actor=team.leader,
            title="Logo",
            assigned_to=member,
        )
        created = await next_of_type(socket, "task.updated")
        assert created["task"]["id"] == task.pk
        assert created["task"]["status"] == "todo"
        assert created["task"]["assigned_to"] == {"id": member.pk, "username": member.username}

        await db(services.task_update, task=task, actor=member, status="in_progress")
        # The first task started also starts the proposal: both frames come, in any order.
        seen = {}
        while len(seen) < 2:
            frame = await socket.receive_json_from(timeout=5)
            if frame["type"] in ("task.updated", "proposal.updated"):
                seen[frame["type"]] = frame
        assert seen["task.updated"]["task"]["status"] == "in_progress"
        assert seen["proposal.updated"]["proposal"]["status"] == "in_progress"
        await socket.disconnect()

    run(scenario)


def test_a_dispute_is_followed_live_from_opening_to_resolution(team):
    from disputes import services as disputes

    proposal = propose(team, "1000.00")
    services.proposal_accept(proposal=proposal, actor=team.buyer)
    staff = staff_user("support", "support")
    headers = token_headers(team.leader)

    async def scenario():
        socket, _, _ = await connect(team.path, headers)
        dispute = await db(
            disputes.dispute_open, proposal=proposal, actor=team.buyer, reason="Late"
        )
        opened = (await next_of_type(socket, "dispute.updated"))["dispute"]
        assert (opened["id"], opened["status"], opened["outcome"], opened["messages"]) == (
            dispute.pk,
            "open",
            None,
            [],
        )
        await db(
            disputes.dispute_add_message, dispute=dispute, actor=team.leader, body="We shipped"
        )
        evidence = (await next_of_type(socket, "dispute.updated"))["dispute"]
        assert [message["body"] for message in evidence["messages"]] == ["We shipped"]
        await db(
            disputes.dispute_resolve, dispute=dispute, actor=staff, outcome="refund", note="Refund"
        )
        resolved = (await next_of_type(socket, "dispute.updated"))["dispute"]
        assert (resolved["status"], resolved["outcome"], resolved["refund_amount"]) == (
            "resolved",
            "refund",
            "1000.00",
        )
        await socket.disconnect()

    run(scenario)
