"""Conversations and their messages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.core.models import Conversation, Message
from marketplace.core.services import message_create
from tests.factories import ConversationFactory, GroupFactory, UserFactory
from tests.realtime.conftest import with_room_in_the_rate_window

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return UserFactory(username="mem")


@pytest.fixture
def group(member):
    return GroupFactory(members=[member])


@pytest.fixture
def buyer():
    return UserFactory(username="buyer")


@pytest.fixture
def conversation(buyer, group):
    return ConversationFactory(product_owner=buyer, group=group)


def messages_url(conversation):
    return f"/api/conversations/{conversation.pk}/messages"


# --- open ---------------------------------------------------------------------------


def test_buyer_opens_a_conversation_once_then_gets_the_same_one(client_for, buyer, group):
    client = client_for(buyer)

    first = client.post("/api/conversations", {"group_id": group.pk}, format="json")
    second = client.post("/api/conversations/", {"group_id": group.pk}, format="json")

    conversation = Conversation.objects.get()
    assert first.status_code == 201
    assert second.status_code == 200
    expected = {
        "id": conversation.pk,
        "group_id": group.pk,
        "product_owner_id": buyer.pk,
        "active_proposal_id": None,
        "total_proposals": 0,
        "total_completed_projects": 0,
        "unread_count": 0,
        "created_at": conversation.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert first.json() == expected
    assert second.json() == expected


def test_a_member_cannot_open_a_conversation_with_their_own_group(client_for, group, member):
    for caller in (member, group.leader):
        response = client_for(caller).post(
            "/api/conversations", {"group_id": group.pk}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "own_group"
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("group_id", [999999, "abc", None])
def test_opening_with_an_unknown_group_names_the_field(client_for, buyer, group_id):
    response = client_for(buyer).post("/api/conversations", {"group_id": group_id}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["group_id"]


def test_conversations_need_credentials(anon, conversation):
    assert anon.post("/api/conversations", {"group_id": 1}, format="json").status_code == 401
    assert anon.get("/api/conversations").status_code == 401
    assert anon.get(messages_url(conversation)).status_code == 401
    assert anon.post(messages_url(conversation), {"body": "hi"}).status_code == 401


# --- list ---------------------------------------------------------------------------


def test_list_shows_the_callers_conversations_as_buyer_or_member(
    client_for, buyer, member, group, conversation
):
    own_as_buyer = ConversationFactory(product_owner=member)  # member buys from another group
    ConversationFactory()  # someone else's

    def ids(user):
        body = client_for(user).get("/api/conversations").json()
        assert body["count"] == len(body["results"])
        return [row["id"] for row in body["results"]]

    assert ids(buyer) == [conversation.pk]
    assert ids(group.leader) == [conversation.pk]
    assert ids(member) == [own_as_buyer.pk, conversation.pk]
    assert ids(UserFactory()) == []


def test_a_member_who_left_no_longer_sees_the_conversation(client_for, member, group, conversation):
    client = client_for(member)
    assert client.post(f"/api/groups/{group.pk}/leave").status_code == 200

    assert client.get("/api/conversations").json()["count"] == 0
    assert client.get(messages_url(conversation)).status_code == 404
    assert client.post(messages_url(conversation), {"body": "hi"}).status_code == 404


def test_list_costs_the_same_queries_for_2_and_10_conversations(client_for, member, group):
    client = client_for(member)

    def queries(total):
        while Conversation.objects.count() < total:
            ConversationFactory(group=group)
        with CaptureQueriesContext(connection) as context:
            assert len(client.get("/api/conversations").json()["results"]) == total
        return len(context)

    assert queries(2) == queries(10)


# --- messages -----------------------------------------------------------------------


def test_participants_post_messages(client_for, buyer, member, group, conversation):
    for author in (buyer, member, group.leader):
        response = client_for(author).post(
            messages_url(conversation), {"body": f"  hello from {author.username}  "}, format="json"
        )
        assert response.status_code == 201
        message = Message.objects.get(pk=response.json()["id"])
        assert response.json() == {
            "id": message.pk,
            "sender": {"id": author.pk, "username": author.username},
            "body": f"hello from {author.username}",
            "metadata": {},
            "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
        }
    assert Message.objects.filter(conversation=conversation).count() == 3


def test_strangers_neither_read_nor_write_and_are_told_it_does_not_exist(client_for, conversation):
    stranger = client_for(UserFactory())

    read = stranger.get(messages_url(conversation))
    write = stranger.post(messages_url(conversation), {"body": "hi"}, format="json")
    missing = stranger.get("/api/conversations/999999/messages")

    for response in (read, write, missing):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert read.json() == missing.json()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 5001}, {"body": None}]
)
def test_a_message_needs_a_body_of_at_most_5000_characters(client_for, buyer, conversation, body):
    response = client_for(buyer).post(messages_url(conversation), body, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["body"]
    assert not Message.objects.exists()


def test_a_5000_character_message_is_accepted(client_for, buyer, conversation):
    response = client_for(buyer).post(
        messages_url(conversation), {"body": "x" * 5000}, format="json"
    )
    assert response.status_code == 201


def test_messages_are_listed_oldest_first_with_system_messages(
    client_for, buyer, member, conversation
):
    first = message_create(conversation=conversation, sender=buyer, body="first")
    system = message_create(
        conversation=conversation,
        sender=None,
        body="Proposal sent",
        metadata={"type": "proposal", "proposal_id": 7, "status": "pending"},
    )
    last = message_create(conversation=conversation, sender=member, body="last")

    body = client_for(member).get(messages_url(conversation) + "/").json()

    assert body["count"] == 3
    assert [row["id"] for row in body["results"]] == [first.pk, system.pk, last.pk]
    assert body["results"][1]["sender"] is None
    assert body["results"][1]["metadata"] == {
        "type": "proposal",
        "proposal_id": 7,
        "status": "pending",
    }
    assert body["results"][0]["sender"] == {"id": buyer.pk, "username": "buyer"}


def test_messages_are_paginated(client_for, buyer, conversation):
    for number in range(23):
        message_create(conversation=conversation, sender=buyer, body=f"m{number}")

    first = client_for(buyer).get(messages_url(conversation)).json()
    second = client_for(buyer).get(first["next"]).json()

    assert [row["body"] for row in first["results"]] == [f"m{n}" for n in range(20)]
    assert [row["body"] for row in second["results"]] == ["m20", "m21", "m22"]


def test_message_list_costs_the_same_queries_for_2_and_10_messages(
    client_for, buyer, member, group, conversation
):
    client = client_for(buyer)
    authors = [buyer, member, group.leader, None]

    def queries(total):
        while Message.objects.count() < total:
            count = Message.objects.count()
            message_create(conversation=conversation, sender=authors[count % 4], body="m")
        with CaptureQueriesContext(connection) as context:
            assert len(client.get(messages_url(conversation)).json()["results"]) == total
        return len(context)

    assert queries(2) == queries(10)


def test_posting_messages_is_limited_to_30_a_minute_but_reading_is_not(
    client_for, buyer, conversation
):
    client = client_for(buyer)
    with_room_in_the_rate_window(buyer)
    for number in range(30):
        response = client.post(messages_url(conversation), {"body": f"m{number}"}, format="json")
        assert response.status_code == 201

    throttled = client.post(messages_url(conversation), {"body": "one more"}, format="json")

    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert client.get(messages_url(conversation)).status_code == 200
    assert Message.objects.count() == 30
