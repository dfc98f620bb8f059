"""Websocket hardening (security review): origins compared exactly, malformed and
oversized frames answered without a traceback, unknown paths refused at the handshake,
and sockets opened with an API token closed when the token ends. Through the real ASGI
application and the channels-redis layer; the frame cap also through a real uvicorn."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from knox.crypto import hash_token
from knox.models import get_token_model
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect

from marketplace.asgi import application
from marketplace.core.models import Message
from marketplace.core.ws_auth import origin_allowed
from tests.conftest import issue_token
from tests.live import asgi_servers
from tests.realtime import conftest as realtime
from tests.realtime.conftest import connect, db, run
from tests.realtime.test_conversation_socket import session_headers

pytestmark = pytest.mark.django_db(transaction=True)

AuthToken = get_token_model()

# The realtime tests' fixtures: a fresh channel layer per test, and a chat with tokens.
_fresh_channel_layer = realtime._fresh_channel_layer
chat = realtime.chat


def handshake(origin: str | None, host: str = "testserver", scheme: str = "ws", **headers):
    scope_headers = [(b"host", host.encode())]
    if origin is not None:
        scope_headers.append((b"origin", origin.encode()))
    scope_headers += [(name.encode(), value.encode()) for name, value in headers.items()]
    return {"type": "websocket", "scheme": scheme, "headers": scope_headers}


# --- 1. origins: scheme, host and port exactly --------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://testserver", True),
        ("http://testserver:80", True),
        ("HTTP://TestServer", True),
        ("http://testserver:31337", False),  # another port of our host
        ("https://testserver", False),  # another scheme than the socket's
        ("http://localhost:31337", False),
        ("http://evil.example", False),
        ("null", False),
        ("", False),
        (None, False),
        ("http://testserver:99999", False),  # not a port
    ],
)
def test_a_browser_origin_must_be_the_sockets_own_exactly(origin, allowed):
    assert origin_allowed(handshake(origin)) is allowed


def test_the_origin_of_a_secure_socket_is_https(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(handshake("https://testserver", scheme="wss"))
    assert not origin_allowed(handshake("http://testserver", scheme="wss"))
    behind_the_balancer = {"x-forwarded-proto": "https"}
    assert origin_allowed(handshake("https://testserver", **behind_the_balancer))
    assert not origin_allowed(handshake("http://testserver", **behind_the_balancer))


def test_the_host_itself_must_be_one_of_ours(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    assert origin_allowed(handshake("http://localhost:8000", host="localhost:8000"))
    assert not origin_allowed(handshake("http://localhost:31337", host="localhost:8000"))
    assert not origin_allowed(handshake("http://evil.example", host="evil.example"))


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://app.example.com:443", True),
        ("http://app.example.com", False),
        ("https://app.example.com:8443", False),
        ("https://other.example.com", False),
        ("https://shop.example.org", True),  # https://*.example.org
        ("https://a.b.example.org", True),
        ("https://shop.example.org:8443", False),
        ("http://shop.example.org", False),
        ("https://example.org.evil.example", False),
        ("https://evilexample.org", False),
    ],
)
def test_trusted_origins_match_scheme_host_and_port(settings, origin, allowed):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com", "https://*.example.org"]
    assert origin_allowed(handshake(origin, host="internal.invalid")) is allowed


def test_a_session_cookie_from_another_port_is_anonymous_and_tokens_need_no_origin(chat):
    own, _ = session_headers(chat.buyer, b"http://testserver")
    other_port, _ = session_headers(chat.buyer, b"http://testserver:31337")
    localhost, _ = session_headers(chat.buyer, b"http://localhost:31337")

    async def scenario():
        socket, connected, _ = await connect(chat.path, own)
        assert connected
        await socket.disconnect()
        for headers in (other_port, localhost):
            _, connected, code = await connect(chat.path, headers)
            assert (connected, code) == (False, 4401)
        socket, connected, _ = await connect(chat.path, chat.headers["member"])  # no Origin
        assert connected
        await socket.disconnect()

    run(scenario)


# --- 2. and 3. malformed and oversized frames ---------------------------------------


async def still_answers(socket, client_id: str) -> dict:
    await socket.send_json_to(
        {"type": "message.send", "body": "still here", "client_id": client_id}
    )
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame["type"] != "message.created":
            return frame


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json"},
        {"text_data": '{"type": "message.send", "body": "a\x00b"}'},  # raw control character
        {"text_data": "[1, 2]"},
        {"text_data": '"message.send"'},
        {"text_data": "[" * 30000 + "]" * 30000},  # nested past the parser's recursion
        {"bytes_data": b"\x00\x01binary"},
        {"text_data": json.dumps({"type": "message.send", "body": "nul \x00 inside"})},
    ],
    ids=["text", "raw-nul", "array", "string", "deep", "binary", "escaped-nul"],
)
def test_a_malformed_frame_gets_an_error_frame_and_the_socket_stays_open(chat, frame):
    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["buyer"])
        await socket.send_to(**frame)
        error = await socket.receive_json_from(timeout=5)
        assert error["type"] == "error"
        assert error["error"]["code"] == "invalid_frame"
        assert error["error"]["message"]
        ack = await still_answers(socket, "after")
        assert (ack["type"], ack["client_id"]) == ("message.ack", "after")
        assert await db(list, Message.objects.values_list("body", flat=True)) == ["still here"]
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"type": "message.send", "body": "x" * (12 * 1024 * 1024)}),  # 12 MiB
        # 40 000 characters, but 120 000 bytes in UTF-8: the cap counts bytes.
        json.dumps({"type": "message.send", "body": "€" * 40000}, ensure_ascii=False),
    ],
    ids=["12MiB", "multibyte"],
)
def test_a_frame_over_the_cap_closes_the_socket_with_1009_unparsed(chat, text):
    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["buyer"])
        await socket.send_to(text_data=text)
        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 1009}
        assert not await db(Message.objects.exists)

    run(scenario)


def test_a_frame_just_under_the_cap_is_read(chat, settings):
    body = "x" * (settings.WEBSOCKET_MAX_FRAME_BYTES - 100)

    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["buyer"])
        await socket.send_json_to({"type": "message.send", "body": body, "client_id": "big"})
        error = await socket.receive_json_from(timeout=5)
        assert (error["error"]["code"], error["client_id"]) == ("message_too_long", "big")
        await socket.disconnect()

    run(scenario)


def test_the_server_refuses_an_oversized_frame_before_the_application(chat):
    """uvicorn with the cap `make run` and the README pass (`--ws-max-size`, given here
    through uvicorn's environment variable): a 12 MiB frame ends the connection with
    1009; the server keeps serving."""
    makefile = (Path(django_settings.BASE_DIR) / "Makefile").read_text()
    assert f"--ws-max-size {django_settings.WEBSOCKET_MAX_FRAME_BYTES}" in makefile
    headers = {"Authorization": dict(chat.headers["buyer"])[b"authorization"].decode()}

    cap = str(django_settings.WEBSOCKET_MAX_FRAME_BYTES)
    with asgi_servers(1, UVICORN_WS_MAX_SIZE=cap) as (server,):
        url = server.replace("http://", "ws://") + chat.path
        with websocket_connect(url, additional_headers=headers) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                socket.send(json.dumps({"type": "message.send", "body": "x" * (12 << 20)}))
                socket.recv(timeout=10)
            assert closed.value.rcvd.code == 1009
        with websocket_connect(url, additional_headers=headers) as socket:
            socket.send(json.dumps({"type": "message.send", "body": "fits", "client_id": "c"}))
            frames = [json.loads(socket.recv(timeout=10)) for _ in range(2)]
            assert "message.ack" in {frame["type"] for frame in frames}
    assert list(Message.objects.values_list("body", flat=True)) == ["fits"]


# --- 4. unknown paths and odd query strings ----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/ws/conversations/abc/",
        "/ws/conversations/1",
        "/ws/conversations/-1/",
        "/ws/conversations/99999999999999999999999/",
        "/ws/nothing-here/",
        "/",
    ],
)
def test_unknown_or_malformed_paths_are_refused_at_the_handshake(chat, path):
    async def scenario():
        socket, connected, code = await connect(path, chat.headers["buyer"])
        assert (connected, code) == (False, 4404)
        assert await socket.receive_nothing()

    run(scenario)


@pytest.mark.parametrize(
    "query",
    [b"last_message_id=%C2%B2", b"last_message_id=" + b"9" * 5000, b"last_message_id=\xff\xfe"],
    ids=["superscript-two", "huge", "not-utf8"],
)
def test_an_unusable_last_message_id_is_ignored(chat, query):
    async def scenario():
        socket = WebsocketCommunicator(application, chat.path, headers=chat.headers["member"])
        socket.scope["query_string"] = query
        connected, _ = await socket.connect(timeout=5)
        assert connected
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


# --- 5. sockets opened with an API token end with it --------------------------------


def test_deleting_a_token_closes_the_sockets_opened_with_it_and_no_others(chat):
    revoked_key, kept_key = issue_token(chat.buyer), issue_token(chat.buyer)
    with_revoked = [(b"authorization", f"Token {revoked_key}".encode())]
    with_kept = [(b"authorization", f"Token {kept_key}".encode())]

    async def scenario():
        chat_socket, _, _ = await connect(chat.path, with_revoked)
        notifications, connected, _ = await connect("/ws/notifications/", with_revoked)
        assert connected
        other, _, _ = await connect(chat.path, with_kept)

        await db(AuthToken.objects.filter(digest=hash_token(revoked_key)).delete)

        for socket in (chat_socket, notifications):
            closed = await socket.receive_output(timeout=5)
            assert closed == {"type": "websocket.close", "code": 4401}
        ack = await still_answers(other, "kept")
        assert ack["type"] == "message.ack"
        await other.disconnect()
        _, connected, code = await connect(chat.path, with_revoked)
        assert (connected, code) == (False, 4401)

    run(scenario)


def test_a_rolled_back_token_deletion_closes_nothing(chat):
    from django.db import transaction

    def delete_then_fail():
        with pytest.raises(RuntimeError), transaction.atomic():
            AuthToken.objects.filter(user=chat.member).delete()
            raise RuntimeError("the revocation failed")

    async def scenario():
        socket, _, _ = await connect(chat.path, chat.headers["member"])
        await db(delete_then_fail)
        assert await socket.receive_nothing(timeout=0.5)
        assert (await still_answers(socket, "open"))["type"] == "message.ack"
        await socket.disconnect()

    run(scenario)


def test_a_token_that_expires_closes_its_socket_at_the_next_frame(chat):
    from asyncio import sleep

    _, key = AuthToken.objects.create(user=chat.buyer, expiry=timedelta(seconds=1))
    headers = [(b"authorization", f"Token {key}".encode())]

    async def scenario():
        typist, connected, _ = await connect(chat.path, headers)
        listener, connected_too, _ = await connect(chat.path, headers)
        assert connected and connected_too
        await sleep(1.2)
        await typist.send_json_to({"type": "typing"})  # a frame in: checked first
        assert await typist.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
        other = chat.headers["leader"]
        speaker, _, _ = await connect(chat.path, other)
        await still_answers(speaker, "out")  # a frame out to the expired socket
        assert await listener.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4401,
        }
        await speaker.disconnect()

    run(scenario)
