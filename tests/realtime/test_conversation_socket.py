import asyncio
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.test import Client
from django.utils import timezone
from knox.models import get_token_model

from marketplace.core import services
from marketplace.core.models import Message
from tests.factories import UserFactory

from .conftest import connect, db, run, token_headers, with_room_in_the_rate_window

pytestmark = pytest.mark.django_db(transaction=True)


def post(conversation, sender, body):
    return services.message_send(conversation=conversation, sender=sender, body=body)


def test_a_participant_receives_every_new_message_live(chat):
    async def scenario():
        socket, connected, _ = await connect(chat.path, chat.headers["member"])
        assert connected
        message = await db(post, chat.conversation, chat.buyer, "Hello group")
        frame = await socket.receive_json_from(timeout=5)
        assert frame == {
            "type": "message.created",
            "message": {
                "id": message.pk,
                "sender": {"id": chat.buyer.pk, "username": "buyer"},
                "body": "Hello group",
                "metadata": {},
                "created_at": frame["message"]["created_at"],
            },
        }
        await socket.disconnect()

    run(scenario)


def test_a_socket_idle_longer_than_the_layers_blocking_read_still_receives(chat):
    """The channel layer reads with a 5 s blocking pop; a Redis client timeout of 5 s
    (redis-py 8's default) once dropped every socket idle that long."""

    async def scenario():
        socket, connected, _ = await connect(chat.path, chat.headers["member"])
        assert connected
        await asyncio.sleep(6.5)
        await db(post, chat.conversation, chat.buyer, "Still there?")
        frame = await socket.receive_json_from(timeout=5)
        assert frame["message"]["body"] == "Still there?"
        await socket.disconnect()

    run(scenario)


def test_message_send_is_stored_then_acknowledged_and_broadcast(chat):
    async def scenario():
        sender, _, _ = await connect(chat.path, chat.headers["buyer"])
        listener, _, _ = await connect(chat.path, chat.headers["leader"])
        await sender.send_json_to(
            {"type": "message.send", "body": "  Ship it  ", "client_id": "c1"}
        )

        ack = await sender.receive_json_from(timeout=5)
        if ack["type"] == "message.created":  # the broadcast may overtake the ack
            ack = await sender.receive_json_from(timeout=5)
        assert ack["type"] == "message.ack"
        assert ack["client_id"] == "c1"
        stored = await db(Message.objects.get, pk=ack["message"]["id"])
        assert stored.body == "Ship it"
        assert stored.sender_id == chat.buyer.pk

        heard = await listener.receive_json_from(timeout=5)
        assert heard["type"] == "message.created"
        assert heard["message"]["id"] == stored.pk
        for socket in (sender, listener):
            await socket.disconnect()

    run(scenario)


def test_anonymous_sockets_are_refused_before_anything_is_sent(chat):
    async def scenario():
        socket, connected, code = await connect(chat.path)
        assert (connected, code) == (False, 4401)
        assert await socket.receive_nothing()

    run(scenario)


def test_a_bad_token_is_anonymous(chat):
    async def scenario():
        _, connected, code = await connect(chat.path, [(b"authorization", b"Token not-a-real-key")])
        assert (connected, code) == (False, 4401)

    run(scenario)


def test_an_expired_token_is_anonymous(chat):
    """The handshake checks a token as the API does: against its digest, with expiry."""
    get_token_model().objects.filter(user=chat.buyer).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )

    async def scenario():
        _, connected, code = await connect(chat.path, chat.headers["buyer"])
        assert (connected, code) == (False, 4401)
        socket, connected, _ = await connect(chat.path, chat.headers["member"])
        assert connected
        await socket.disconnect()

    run(scenario)


def test_strangers_and_unknown_conversations_are_refused(chat):
    stranger = token_headers(UserFactory(username="stranger"))

    async def scenario():
        _, connected, code = await connect(chat.path, stranger)
        assert (connected, code) == (False, 4404)
        _, connected, code = await connect("/ws/conversations/999999/", chat.headers["buyer"])
        assert (connected, code) == (False, 4404)

    run(scenario)


def session_headers(user, origin: bytes | None, host: bytes = b"testserver"):
    """A browser's handshake: its session cookie, the Host it connects to, its Origin."""
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"cookie", cookie), (b"host", host)]
    if origin is not None:
        headers.append((b"origin", origin))
    return headers, client.session[SESSION_KEY]


def test_the_session_cookie_works_from_our_own_origin_only(chat):
    good, _ = session_headers(chat.buyer, b"http://testserver")
    foreign, _ = session_headers(chat.buyer, b"https://evil.example")
    missing, _ = session_headers(chat.buyer, None)

    async def scenario():
        socket, connected, _ = await connect(chat.path, good)
        assert connected
        await socket.disconnect()
        for headers in (foreign, missing):
            _, connected, code = await connect(chat.path, headers)
            assert (connected, code) == (False, 4401)

    run(scenario)


def test_a_member_who_leaves_the_group_is_disconnected_and_refused(chat):
    async def scenario():
        socket, connected, _ = await connect(chat.path, chat.headers["member"])
        assert connected
        await db(services.group_leave, group=chat.group, user=chat.member)
        assert (await socket.receive_output(timeout=5))["type"] == "websocket.close"
        _, connected, code = await connect(chat.path, chat.headers["member"])
        assert (connected, code) == (False, 4404)

    run(scenario)


def test_reconnecting_with_the_last_seen_id_catches_up_in_order(chat):
    first = post(chat.conversation, chat.buyer, "one")
    missed = [post(chat.conversation, chat.leader, text) for text in ("two", "three", "four")]

    async def scenario():
        socket, connected, _ = await connect(
            f"{chat.path}?last_message_id={first.pk}", chat.headers["member"]
        )
        assert connected
        frames = [await socket.receive_json_from(timeout=5) for _ in missed]
        assert [frame["message"]["id"] for frame in frames] == [message.pk for message in missed]
        assert [frame["message"]["body"] for frame in frames] == ["two", "three", "four"]
        live = await db(post, chat.conversation, chat.buyer, "five")
        frame = await socket.receive_json_from(timeout=5)
        assert frame["message"]["id"] == live.pk
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


def test_a_rolled_back_message_is_never_announced(chat):
    def post_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            post(chat.conversation, chat.buyer, "never")
            raise RuntimeError("the surrounding operation failed")

    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["member"])
        await db(post_then_fail)
        assert await socket.receive_nothing(timeout=0.5)
        assert not await db(Message.objects.filter(body="never").exists)
        await socket.disconnect()

    run(scenario)


def test_oversized_and_blank_messages_get_an_error_frame_and_store_nothing(chat, settings):
    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["buyer"])
        await socket.send_json_to(
            {"type": "message.send", "body": "x" * (settings.CHAT_MESSAGE_MAX_LENGTH + 1)}
        )
        error = await socket.receive_json_from(timeout=5)
        assert (error["type"], error["error"]["code"]) == ("error", "message_too_long")
        await socket.send_json_to({"type": "message.send", "body": "   "})
        error = await socket.receive_json_from(timeout=5)
        assert error["error"]["code"] == "blank_message"
        await socket.send_json_to({"type": "nonsense"})
        assert (await socket.receive_json_from(timeout=5))["error"]["code"] == "unknown_type"
        assert await db(Message.objects.count) == 0
        await socket.disconnect()

    run(scenario)


def test_sending_faster_than_the_rate_limit_is_refused_with_an_error_frame(chat, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    with_room_in_the_rate_window(chat.buyer, room=5)

    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["buyer"])
        outcomes = []
        for number in range(5):
            await socket.send_json_to(
                {"type": "message.send", "body": f"m{number}", "client_id": number}
            )
            while True:
                frame = await socket.receive_json_from(timeout=5)
                if frame["type"] in ("message.ack", "error"):
                    outcomes.append(
                        frame["type"] if frame["type"] == "message.ack" else frame["error"]["code"]
                    )
                    break
        assert outcomes == ["message.ack"] * 3 + ["rate_limited"] * 2
        assert await db(Message.objects.count) == 3
        await socket.disconnect()

    run(scenario)


def test_typing_is_shown_to_the_others_only(chat):
    async def scenario():
        typist, _, _ = await connect(chat.path, chat.headers["buyer"])
        other, _, _ = await connect(chat.path, chat.headers["leader"])
        await typist.send_json_to({"type": "typing"})
        assert await other.receive_json_from(timeout=5) == {
            "type": "typing",
            "user": {"id": chat.buyer.pk, "username": "buyer"},
        }
        assert await typist.receive_nothing(timeout=0.3)
        for socket in (typist, other):
            await socket.disconnect()

    run(scenario)


def test_a_message_that_commits_after_a_later_one_is_not_lost_on_reconnect(chat):
    """Ids are taken at insert: the slow message gets the lower id but commits last. A
    client that saw the fast one and reconnects still receives the slow one."""
    import threading

    from django.db import connection

    inserted, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                post(chat.conversation, chat.leader, "slow")
                inserted.set()
                release.wait(timeout=10)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(timeout=10)
    fast = post(chat.conversation, chat.buyer, "fast")  # commits first, with the higher id
    release.set()
    writer.join(timeout=10)
    slow = Message.objects.get(body="slow")
    assert slow.pk < fast.pk

    async def scenario():
        path = f"{chat.path}?last_message_id={fast.pk}"
        socket, connected, _ = await connect(path, chat.headers["member"])
        assert connected
        frame = await socket.receive_json_from(timeout=5)
        assert (frame["type"], frame["message"]["id"], frame["message"]["body"]) == (
            "message.created",
            slow.pk,
            "slow",
        )
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)
