"""One chat rate limit per user, whatever the way in (the page's form, the API, the
websocket), counted in Redis so every server process shares it; typing and read frames
limited too; read frames coalesced into few writes of the read mark."""

import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client

from marketplace.core import chat_limits, services, socket_reads
from marketplace.core.models import ConversationReadMark, Message
from tests.conftest import token_client
from tests.live import server_environment

from .conftest import connect, db, run, with_room_in_the_rate_window

pytestmark = pytest.mark.django_db(transaction=True)


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_post(client, conversation, body):
    """The chat page's form, the redirect followed: the flash messages shown."""
    response = client.post(f"/conversations/{conversation.pk}/messages/", {"body": body})
    assert response.status_code == 302
    page = client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


async def send_over_socket(socket, body, client_id) -> dict:
    await socket.send_json_to({"type": "message.send", "body": body, "client_id": client_id})
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame["type"] in ("message.ack", "error"):
            return frame


def test_sixty_page_posts_in_a_burst_store_only_the_limit(chat):
    """The security review sent 60 messages through the page's form in 3.4 s: all passed."""
    client = page_client(chat.buyer)
    with_room_in_the_rate_window(chat.buyer, room=30)
    refusals = [page_post(client, chat.conversation, f"m{number}") for number in range(60)]
    assert Message.objects.count() == django_settings.CHAT_MESSAGES_PER_MINUTE == 30
    assert refusals[:30] == [[]] * 30
    assert all(
        len(shown) == 1 and shown[0].startswith("You are sending messages too fast")
        for shown in refusals[30:]
    )


def test_the_page_the_api_and_the_socket_share_one_budget(chat, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 6
    page, api = page_client(chat.buyer), token_client(chat.buyer)
    api_url = f"/api/conversations/{chat.conversation.pk}/messages"
    with_room_in_the_rate_window(chat.buyer)

    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["buyer"])
        for number in range(2):
            assert await db(page_post, page, chat.conversation, f"page {number}") == []
            response = await db(api.post, api_url, {"body": f"api {number}"}, format="json")
            assert response.status_code == 201
            ack = await send_over_socket(socket, f"socket {number}", number)
            assert ack["type"] == "message.ack"

        [refused_page] = await db(page_post, page, chat.conversation, "page 3")
        assert refused_page.startswith("You are sending messages too fast: at most 6 a minute.")
        refused_api = await db(api.post, api_url, {"body": "api 3"}, format="json")
        assert refused_api.status_code == 429
        assert refused_api.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(refused_api["Retry-After"]) <= 60
        refused_socket = await send_over_socket(socket, "socket 3", "late")
        assert refused_socket["error"]["code"] == "rate_limited"
        assert refused_socket["client_id"] == "late"
        await socket.disconnect()

    run(scenario)
    assert Message.objects.count() == 6
    # The others keep their own budget.
    services.message_send(conversation=chat.conversation, sender=chat.member, body="mine")


def test_the_count_is_shared_with_other_processes_through_redis(chat, settings):
    """Another server process spends the user's budget; this one sees it spent."""
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    spend = (
        "import django; django.setup();"
        "from marketplace.core.chat_limits import chat_rate_check, MESSAGE;"
        f"[chat_rate_check(user_id={chat.buyer.pk}, action=MESSAGE) for _ in range(3)]"
    )
    with_room_in_the_rate_window(chat.buyer)
    environment = server_environment(
        CHAT_MESSAGES_PER_MINUTE="3", DJANGO_SETTINGS_MODULE="marketplace.settings"
    )
    subprocess.run(
        [sys.executable, "-c", spend],
        env=environment,
        cwd=django_settings.BASE_DIR,
        check=True,
        timeout=60,
    )
    with pytest.raises(chat_limits.RateLimited):
        services.message_send(conversation=chat.conversation, sender=chat.buyer, body="4th")
    assert not Message.objects.exists()


def test_typing_frames_are_limited_and_the_excess_is_not_broadcast(chat, monkeypatch):
    monkeypatch.setattr(chat_limits, "TYPING_PER_MINUTE", 2)
    with_room_in_the_rate_window(chat.buyer, chat_limits.TYPING, room=5)

    async def scenario():
        typist, _, _ = await connect(chat.path, chat.headers["buyer"])
        other, _, _ = await connect(chat.path, chat.headers["leader"])
        for _ in range(3):
            await typist.send_json_to({"type": "typing"})
        refusal = await typist.receive_json_from(timeout=5)
        assert (refusal["error"]["code"], refusal["frame"]) == ("rate_limited", "typing")
        heard = [await other.receive_json_from(timeout=5) for _ in range(2)]
        assert [frame["type"] for frame in heard] == ["typing", "typing"]
        assert await other.receive_nothing(timeout=0.3)
        for socket in (typist, other):
            await socket.disconnect()

    run(scenario)


def test_read_frames_are_limited(chat, monkeypatch):
    monkeypatch.setattr(chat_limits, "READS_PER_MINUTE", 2)
    with_room_in_the_rate_window(chat.member, chat_limits.READ, room=5)

    async def scenario():
        reader, _, _ = await connect(chat.path, chat.headers["member"])
        for _ in range(3):
            await reader.send_json_to({"type": "read", "last_message_id": 0})
        refusal = await reader.receive_json_from(timeout=5)
        assert (refusal["error"]["code"], refusal["frame"]) == ("rate_limited", "read")
        await reader.disconnect()

    run(scenario)


def receipts_within(socket, seconds):
    async def collect():
        frames = []
        while not await socket.receive_nothing(timeout=seconds):
            frames.append(await socket.receive_json_from())
        return [frame["last_read_message_id"] for frame in frames]

    return collect()


def test_read_frames_are_coalesced_into_few_writes(chat, monkeypatch):
    """Every write of the mark announces a receipt: the receipts count the writes."""
    monkeypatch.setattr(socket_reads, "READ_MARK_INTERVAL", 1)
    first, second, third = (
        services.message_send(conversation=chat.conversation, sender=chat.buyer, body=body)
        for body in ("one", "two", "three")
    )

    async def scenario():
        reader, _, _ = await connect(chat.path, chat.headers["member"])
        writer, _, _ = await connect(chat.path, chat.headers["buyer"])
        for message in (first, second, third, second):
            await reader.send_json_to({"type": "read", "last_message_id": message.pk})
        # The first read is written at once, the next two become one write a second later.
        assert await receipts_within(writer, 1.6) == [first.pk, third.pk]
        await reader.send_json_to({"type": "read", "last_message_id": second.pk})
        assert await receipts_within(writer, 1.3) == []  # behind the mark: no write
        for socket in (reader, writer):
            await socket.disconnect()

    run(scenario)
    mark = ConversationReadMark.objects.get(conversation=chat.conversation, user=chat.member)
    assert mark.last_read_message_id == third.pk


def test_a_read_the_page_already_stored_is_not_written_again(chat):
    message = services.message_send(conversation=chat.conversation, sender=chat.buyer, body="hi")
    page_client(chat.member).get(f"/conversations/{chat.conversation.pk}/")  # reads it

    async def scenario():
        reader, _, _ = await connect(chat.path, chat.headers["member"])
        writer, _, _ = await connect(chat.path, chat.headers["buyer"])
        await reader.send_json_to({"type": "read", "last_message_id": message.pk})
        assert await receipts_within(writer, 0.5) == []
        for socket in (reader, writer):
            await socket.disconnect()

    run(scenario)


def test_a_socket_that_closes_writes_the_read_it_still_owed(chat, monkeypatch):
    monkeypatch.setattr(socket_reads, "READ_MARK_INTERVAL", 30)
    first, second = (
        services.message_send(conversation=chat.conversation, sender=chat.buyer, body=body)
        for body in ("one", "two")
    )

    async def scenario():
        reader, _, _ = await connect(chat.path, chat.headers["member"])
        writer, _, _ = await connect(chat.path, chat.headers["buyer"])
        await reader.send_json_to({"type": "read", "last_message_id": first.pk})
        assert await receipts_within(writer, 0.5) == [first.pk]
        await reader.send_json_to({"type": "read", "last_message_id": second.pk})
        assert await receipts_within(writer, 0.5) == []  # waiting for its turn
        await reader.disconnect()
        assert await receipts_within(writer, 0.5) == [second.pk]
        await writer.disconnect()

    run(scenario)
