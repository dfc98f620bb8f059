"""Websocket consumers: a conversation's live chat and a user's own notification stream.

Frames out are JSON objects with a `type`: `message.created`, `proposal.updated`,
`task.updated`, `dispute.updated`, `typing`, `read.updated` (a read receipt),
`message.ack`, `error`; on the user stream
`notification.created` and `wallet.updated`. Payloads have the REST API's shapes.
Close codes: 4401 not authenticated, 4404 not a participant (or no such conversation),
4403 access revoked (left the group).
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.cache import cache

from . import selectors, services
from .errors import DomainError
from .events import conversation_stream, message_frame, user_stream
from .serializers import MessageOutputSerializer

NOT_AUTHENTICATED, FORBIDDEN, NOT_FOUND = 4401, 4403, 4404


class StreamConsumer(AsyncJsonWebsocketConsumer):
    """Joins the streams named by `streams()` and forwards their frames."""

    async def connect(self):
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=NOT_AUTHENTICATED)
            return
        if not await self.authorize():
            await self.close(code=NOT_FOUND)
            return
        self.joined = self.streams()
        for stream in self.joined:
            await self.channel_layer.group_add(stream, self.channel_name)
        await self.accept()
        await self.after_accept()

    async def disconnect(self, code):
        for stream in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(stream, self.channel_name)

    async def stream_frame(self, event):
        await self.send_json(event["frame"])

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
        # Ids of messages sent in the catch-up, so live frames queued meanwhile are not
        # sent twice. (A set, not a maximum: ids can commit out of order.)
        self.caught_up = set()
        last_seen = _query_param(self.scope, "last_message_id")
        if last_seen is not None and last_seen.isdigit():
            for frame in await self._messages_after(int(last_seen)):
                self.caught_up.add(frame["message"]["id"])
                await self.send_json(frame)

    async def stream_frame(self, event):
        frame = event["frame"]
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
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "message.send":
            await self._message_send(content)
        elif kind == "read":
            await self._mark_read(content.get("last_message_id"))
        elif kind == "typing":
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
        else:
            await self.error("unknown_type", "Frames have a type: message.send, read or typing.")

    async def _message_send(self, content):
        client_id = content.get("client_id")
        body = content.get("body")
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
        if not await _within_rate(self.user.pk):
            await self.error(
                "rate_limited",
                f"At most {settings.CHAT_MESSAGES_PER_MINUTE} messages a minute: wait a moment.",
                client_id=client_id,
            )
            return
        try:
            message = await self._store(body)
        except DomainError as refusal:
            await self.error(refusal.code, refusal.message, client_id=client_id)
            return
        await self.send_json({"type": "message.ack", "client_id": client_id, "message": message})

    async def _mark_read(self, message_id):
        if message_id is not None and (not isinstance(message_id, int) or message_id < 0):
            await self.error("invalid", "last_message_id is a message id.")
            return
        await database_sync_to_async(services.conversation_mark_read)(
            conversation=self.conversation, user=self.user, message_id=message_id
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


@database_sync_to_async
def _within_rate(user_id: int) -> bool:
    """A fixed one-minute window per user, counted in the shared cache so the limit holds
    across server processes."""
    key = f"chat-rate:{user_id}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        count = 1
    return count <= settings.CHAT_MESSAGES_PER_MINUTE


def _query_param(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode()).get(name)
    return values[0] if values else None
