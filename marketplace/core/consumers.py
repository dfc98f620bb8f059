"""Websocket consumers: a conversation's live chat and a user's own notification stream.

Frames out are JSON objects with a `type`: `message.created`, `proposal.updated`,
`task.updated`, `dispute.updated`, `typing`, `read.updated` (a read receipt),
`message.ack`, `error`; on the user stream
`notification.created` and `wallet.updated`. Payloads have the REST API's shapes.
An `error` frame is `{"type": "error", "error": {"code", "message"}}` (plus the
`client_id` of the `message.send` it answers, or the `frame` type it refuses); the socket
stays open. Codes: `invalid_frame` (not a JSON object, a binary frame, a NUL in a body),
`unknown_type`, `blank_message`, `message_too_long`, `rate_limited`, `invalid`.
Close codes: 4401 not authenticated (also when the API token the socket was opened with
is revoked or expires), 4404 not a participant (or no such conversation, or no such
path), 4403 access revoked (left the group), 1009 a frame larger than
`WEBSOCKET_MAX_FRAME_BYTES`.
"""

import json
import re
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from . import selectors, services
from .chat_limits import READ, TYPING, chat_rate_check
from .errors import DomainError
from .events import conversation_stream, message_frame, token_stream, user_stream
from .serializers import MessageOutputSerializer
from .socket_reads import CoalescedReadMark

NOT_AUTHENTICATED, FORBIDDEN, NOT_FOUND, TOO_BIG = 4401, 4403, 4404, 1009
MAX_ID = 2**63 - 1  # ids are bigints
_ID = re.compile(r"[0-9]{1,19}")


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Joins the streams named by `streams()` and forwards their frames. Checks every
    frame it receives (size, JSON, the API token still valid) before `receive_json`."""

    closing = False

    async def connect(self):
        self.user = self.scope.get("user")
        self.api_token = self.scope.get("api_token")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=NOT_AUTHENTICATED)
            return
        if not await self.authorize():
            await self.close(code=NOT_FOUND)
            return
        self.joined = self.streams()
        if self.api_token is not None:
            self.joined.append(token_stream(self.api_token.digest))
        for stream in self.joined:
            await self.channel_layer.group_add(stream, self.channel_name)
        await self.accept()
        await self.after_accept()

    async def disconnect(self, code):
        for stream in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(stream, self.channel_name)

    async def close(self, code=None, reason=None):
        # Once: the server refuses anything sent after a close.
        if not self.closing:
            self.closing = True
            await super().close(code=code, reason=reason)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if self.closing:
            return
        if self._token_expired():
            await self.close(code=NOT_AUTHENTICATED)
            return
        if _too_big(text_data, bytes_data):
            await self.close(code=TOO_BIG)
            return
        if text_data is None:
            await self.error("invalid_frame", "Frames are JSON text, not binary.")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            content = None
        if not isinstance(content, dict):
            await self.error("invalid_frame", "A frame is one JSON object.")
            return
        await self.receive_json(content)

    async def stream_frame(self, event):
        if self.closing:
            return
        frame = event["frame"]
        if frame["type"] == "token.revoked" or self._token_expired():
            await self.close(code=NOT_AUTHENTICATED)
            return
        await self.forward(frame)

    async def forward(self, frame: dict):
        await self.send_json(frame)

    async def authorize(self) -> bool:
        return True

    def streams(self) -> list[str]:
        return [user_stream(self.user.pk)]

    async def after_accept(self):
        pass

    async def error(self, code: str, message: str, **extra):
        await self.send_json(
            {"type": "error", "error": {"code": code, "message": message}, **extra}
        )

    def _token_expired(self) -> bool:
        expiry = self.api_token.expiry if self.api_token is not None else None
        return expiry is not None and expiry <= timezone.now()


class NotificationConsumer(StreamConsumer):
    """`/ws/notifications/`: the signed-in user's notifications and wallet changes."""


class ConversationConsumer(StreamConsumer):
    """`/ws/conversations/<id>/?last_message_id=N`: a conversation's live events.

    On connect, a client that passes the last message id it saw first receives what it
    may have missed (`selectors.messages_missed`: every later message, and the few
    written just before it that may have committed after it; it drops ids it has), then
    live traffic; messages already sent in that catch-up are not sent twice.
    """

    async def authorize(self) -> bool:
        self.conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        self.conversation = await self._conversation()
        return self.conversation is not None

    def streams(self) -> list[str]:
        # The user stream carries "access.revoked" when the user leaves the group.
        return [conversation_stream(self.conversation_id), user_stream(self.user.pk)]

    async def after_accept(self):
        self.read_mark = CoalescedReadMark(conversation=self.conversation, user=self.user)
        # Ids of messages sent in the catch-up, so live frames queued meanwhile are not
        # sent twice. (A set, not a maximum: ids can commit out of order.)
        self.caught_up = set()
        last_seen = _message_id(_query_param(self.scope, "last_message_id"))
        if last_seen is not None:
            for frame in await self._messages_after(last_seen):
                self.caught_up.add(frame["message"]["id"])
                await self.send_json(frame)

    async def disconnect(self, code):
        try:
            if hasattr(self, "read_mark"):
                await self.read_mark.close()
        finally:
            await super().disconnect(code)

    async def forward(self, frame: dict):
        if frame["type"] == "access.revoked":
            if self.conversation_id in frame["conversation_ids"]:
                await self.close(code=FORBIDDEN)
            return
        if frame["type"] in ("notification.created", "wallet.updated"):
            return  # those belong to /ws/notifications/
        if frame["type"] == "message.created" and frame["message"]["id"] in self.caught_up:
            return
        if frame["type"] == "typing" and frame["user"]["id"] == self.user.pk:
            return
        await self.send_json(frame)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type")
        if kind == "message.send":
            await self._message_send(content)
        elif kind == READ:
            if await self._within_rate(READ):
                await self._mark_read(content)
        elif kind == TYPING:
            if await self._within_rate(TYPING):
                await self._typing()
        else:
            await self.error("unknown_type", "Frames have a type: message.send, read or typing.")

    async def _within_rate(self, kind: str) -> bool:
        try:
            await sync_to_async(chat_rate_check)(user_id=self.user.pk, action=kind)
        except DomainError as refusal:
            await self.error(refusal.code, refusal.message, frame=kind)
            return False
        return True

    async def _message_send(self, content):
        client_id = content.get("client_id")
        body = content.get("body")
        if isinstance(body, str) and "\x00" in body:
            await self.error(
                "invalid_frame", "A message cannot contain NUL characters.", client_id=client_id
            )
            return
        if not isinstance(body, str) or not body.strip():
            await self.error("blank_message", "A message needs a body.", client_id=client_id)
            return
        if len(body) > settings.CHAT_MESSAGE_MAX_LENGTH:
            await self.error(
                "message_too_long",
                f"Messages are at most {settings.CHAT_MESSAGE_MAX_LENGTH} characters.",
                client_id=client_id,
            )
            return
        try:
            message = await self._store(body)
        except DomainError as refusal:  # rate_limited among them
            await self.error(refusal.code, refusal.message, client_id=client_id)
            return
        await self.send_json({"type": "message.ack", "client_id": client_id, "message": message})

    async def _mark_read(self, content):
        message_id = content.get("last_message_id")
        valid = isinstance(message_id, int) and not isinstance(message_id, bool)
        if message_id is not None and not (valid and 0 <= message_id <= MAX_ID):
            await self.error("invalid", "last_message_id is a message id.", frame=READ)
            return
        await self.read_mark.read(message_id)

    async def _typing(self):
        await self.channel_layer.group_send(
            conversation_stream(self.conversation_id),
            {
                "type": "stream.frame",
                "frame": {
                    "type": "typing",
                    "user": {"id": self.user.pk, "username": self.user.username},
                },
            },
        )

    @database_sync_to_async
    def _conversation(self):
        try:
            return selectors.conversation_get(conversation_id=self.conversation_id, user=self.user)
        except DomainError:
            return None

    @database_sync_to_async
    def _messages_after(self, message_id: int) -> list[dict]:
        messages = selectors.messages_missed(
            conversation=self.conversation, last_seen_id=message_id
        )
        return [message_frame(message) for message in messages]

    @database_sync_to_async
    def _store(self, body: str) -> dict:
        message = services.message_send(conversation=self.conversation, sender=self.user, body=body)
        return MessageOutputSerializer(message).data


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Every other websocket path (`/ws/conversations/abc/`): refused at the handshake,
    which the server answers with HTTP 403."""

    async def connect(self):
        await self.close(code=NOT_FOUND)


def _too_big(text_data: str | None, bytes_data: bytes | None) -> bool:
    limit = settings.WEBSOCKET_MAX_FRAME_BYTES
    if text_data is not None:
        # A character is at least one byte: only a frame short enough is encoded to count.
        return len(text_data) > limit or len(text_data.encode("utf-8")) > limit
    return bytes_data is not None and len(bytes_data) > limit


def _message_id(value: str | None) -> int | None:
    """A message id from the query string; anything else (not digits, past a bigint) is
    ignored."""
    if value is None or not _ID.fullmatch(value) or int(value) > MAX_ID:
        return None
    return int(value)


def _query_param(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None
