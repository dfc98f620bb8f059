"""Two real server processes sharing PostgreSQL and Redis: what happens through one
reaches clients connected to the other."""

import json
import urllib.request

import pytest
from websockets.sync.client import connect as websocket_connect

from tests.live import asgi_servers
from tests.proposals.factories import make_team, propose

from .conftest import token_headers

pytestmark = pytest.mark.django_db(transaction=True)


def receive_until(socket, kind: str, timeout: float = 10) -> dict:
    while True:
        frame = json.loads(socket.recv(timeout=timeout))
        if frame["type"] == kind:
            return frame


def test_a_message_and_an_acceptance_through_one_server_reach_clients_on_the_other():
    team = make_team(members=1)
    proposal = propose(team, "400.00")
    buyer_auth = dict(token_headers(team.buyer))[b"authorization"].decode()
    member_auth = dict(token_headers(team.members[0]))[b"authorization"].decode()
    path = f"/ws/conversations/{team.conversation.pk}/"

    with asgi_servers(2) as (first, second):
        ws = lambda base: base.replace("http://", "ws://") + path  # noqa: E731
        with (
            websocket_connect(ws(first), additional_headers={"Authorization": buyer_auth}) as buyer,
            websocket_connect(
                ws(second), additional_headers={"Authorization": member_auth}
            ) as member,
        ):
            buyer.send(
                json.dumps({"type": "message.send", "body": "Across servers", "client_id": "x"})
            )
            heard = receive_until(member, "message.created")
            assert heard["message"]["body"] == "Across servers"
            assert heard["message"]["sender"]["id"] == team.buyer.pk

            accept = urllib.request.Request(
                f"{first}/api/proposals/{proposal.pk}/accept",
                method="POST",
                headers={"Authorization": buyer_auth},
            )
            with urllib.request.urlopen(accept, timeout=10) as response:
                assert response.status == 200
            card = receive_until(member, "proposal.updated")["proposal"]
            assert (card["id"], card["status"], card["escrow_amount"]) == (
                proposal.pk,
                "accepted",
                "400.00",
            )
