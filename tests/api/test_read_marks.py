"""Unread counts per participant and read marks, through the API and the websocket."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.core import services
from tests.factories import ConversationFactory, GroupFactory, UserFactory
from tests.realtime.conftest import connect, run, token_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    buyer, member = UserFactory(username="buyer"), UserFactory(username="member")
    group = GroupFactory(members=[member])
    return ConversationFactory(product_owner=buyer, group=group), buyer, member


def unread(client, conversation) -> int:
    rows = client.get("/api/conversations").json()["results"]
    return next(row["unread_count"] for row in rows if row["id"] == conversation.pk)


def test_messages_from_others_are_unread_until_marked(client_for, chat):
    conversation, buyer, member = chat
    first = services.message_send(conversation=conversation, sender=buyer, body="one")
    services.message_send(conversation=conversation, sender=buyer, body="two")
    services.message_send(conversation=conversation, sender=member, body="mine")
    services.message_create(conversation=conversation, sender=None, body="system", metadata={})
    as_member, as_buyer = client_for(member), client_for(buyer)

    assert unread(as_member, conversation) == 3  # two from the buyer and the system line
    assert unread(as_buyer, conversation) == 2  # the member's and the system line

    response = as_member.post(
        f"/api/conversations/{conversation.pk}/read", {"last_message_id": first.pk}
    )
    assert response.status_code == 200
    assert response.json() == {"last_read_message_id": first.pk, "unread_count": 2}

    everything = as_member.post(f"/api/conversations/{conversation.pk}/read")
    assert everything.json()["unread_count"] == 0
    assert unread(as_member, conversation) == 0
    assert unread(as_buyer, conversation) == 2


def test_the_read_mark_never_moves_back_nor_past_the_latest_message(client_for, chat):
    conversation, buyer, member = chat
    messages = [
        services.message_send(conversation=conversation, sender=buyer, body=str(n))
        for n in range(3)
    ]
    client = client_for(member)
    url = f"/api/conversations/{conversation.pk}/read"
    assert client.post(url, {"last_message_id": messages[2].pk}).json()["unread_count"] == 0
    stale = client.post(url, {"last_message_id": messages[0].pk}).json()
    assert stale == {"last_read_message_id": messages[2].pk, "unread_count": 0}
    beyond = client.post(url, {"last_message_id": messages[2].pk + 1000}).json()
    assert beyond["last_read_message_id"] == messages[2].pk


def test_strangers_cannot_mark_or_probe(client_for, anon, chat):
    conversation, _, _ = chat
    assert (
        client_for(UserFactory()).post(f"/api/conversations/{conversation.pk}/read").status_code
        == 404
    )
    assert anon.post(f"/api/conversations/{conversation.pk}/read").status_code == 401
    bad = client_for(chat[2]).post(
        f"/api/conversations/{conversation.pk}/read", {"last_message_id": -1}
    )
    assert bad.status_code == 400


def test_the_conversation_list_counts_unread_in_constant_queries(client_for):
    member = UserFactory()
    client = client_for(member)
    client.get("/api/conversations")  # warm up: the token's first use

    def list_queries(conversations: int) -> int:
        for _ in range(conversations):
            conversation = ConversationFactory(group=GroupFactory(members=[member]))
            services.message_send(
                conversation=conversation, sender=conversation.product_owner, body="hi"
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/conversations").status_code == 200
        return len(queries)

    assert list_queries(2) == list_queries(8)


@pytest.mark.django_db(transaction=True)
def test_a_read_over_the_socket_sends_a_receipt_to_the_others(chat):
    conversation, buyer, member = chat
    message = services.message_send(conversation=conversation, sender=buyer, body="seen?")
    path = f"/ws/conversations/{conversation.pk}/"
    member_headers, buyer_headers = token_headers(member), token_headers(buyer)

    async def scenario():
        reader, _, _ = await connect(path, member_headers)
        writer, _, _ = await connect(path, buyer_headers)
        await reader.send_json_to({"type": "read", "last_message_id": message.pk})
        receipt = await writer.receive_json_from(timeout=5)
        assert receipt == {
            "type": "read.updated",
            "user": {"id": member.pk, "username": "member"},
            "last_read_message_id": message.pk,
        }
        for socket in (reader, writer):
            await socket.disconnect()

    run(scenario)
