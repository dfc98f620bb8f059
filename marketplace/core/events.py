"""Realtime publishing over the channel layer, always after commit.

Two kinds of stream: a conversation's (`conversation.<id>`, every participant's socket
for that chat) and a user's (`user.<id>`, their notifications, wallet changes and access
changes). Publishers hand in the JSON frame; it goes out only once the surrounding
transaction commits, so a rolled-back change is never announced and a client never hears
of data it cannot yet read through the API.

The frames of one transaction go out together, in one hop to the channel layer after
commit (`_Outbox`): a proposal's accept announces the chat message, the proposal, the
wallet and every participant's notification at the cost of about one round trip.
"""

import asyncio
import logging
import os
import threading
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import connection, transaction

from .serializers import MessageOutputSerializer

logger = logging.getLogger(__name__)


def conversation_stream(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def user_stream(user_id: int) -> str:
    return f"user.{user_id}"


def token_stream(digest: str) -> str:
    """The sockets opened with one API token (named by its digest, never the key). Group
    names stay under 100 characters: 64 of the digest's 128 hex digits are unique enough."""
    return f"token.{digest[:64]}"


async def _send_stream(layer, stream: str, frames: list[dict]) -> None:
    for frame in frames:  # in order: a stream's frames never overtake each other
        try:
            await layer.group_send(stream, {"type": "stream.frame", "frame": frame})
        except Exception:
            # The change is committed; a push that fails is logged, and clients catch up
            # through the API or on reconnect.
            logger.exception("could not publish %s to %s", frame.get("type"), stream)


async def _send_all(frames: list[tuple[str, dict]]) -> None:
    by_stream: dict[str, list[dict]] = {}
    for stream, frame in frames:
        by_stream.setdefault(stream, []).append(frame)
    layer = get_channel_layer()
    await asyncio.gather(*(_send_stream(layer, s, f) for s, f in by_stream.items()))


class _Flush:
    """Sends what the outbox holds; only the newest flush of a transaction does."""

    def __init__(self, outbox: "_Outbox"):
        self.outbox = outbox
        self.stale = False

    def __call__(self) -> None:
        if not self.stale:
            self.outbox.send()


class _Outbox:
    """The frames of the connection's current transaction. Each frame is added by its own
    `on_commit` callback, so Django forgets the frames of a savepoint that rolls back.
    After each one a flush is queued, tied only to the savepoints that every frame so far
    shares, so it survives a rollback that leaves frames behind; the newest flush sends,
    once every surviving frame has been added."""

    def __init__(self):
        self.frames: list[tuple[str, dict]] = []
        self.flush: _Flush | None = None
        self.shared_savepoints: set = set()

    def publish(self, stream: str, frame: dict) -> None:
        if not connection.in_atomic_block:
            self.frames.append((stream, frame))
            self.send()
            return
        transaction.on_commit(partial(self._add, stream, frame))
        savepoints = set(connection.savepoint_ids)
        if self._flush_pending():
            self.flush.stale = True
            savepoints &= self.shared_savepoints
        self.shared_savepoints = savepoints
        self.flush = _Flush(self)
        # What `transaction.on_commit` does, with the shared savepoints instead of all.
        connection.run_on_commit.append((set(savepoints), self.flush, False))

    def _add(self, stream: str, frame: dict) -> None:
        self.frames.append((stream, frame))

    def _flush_pending(self) -> bool:
        """Whether this transaction already queued a flush (and still holds it)."""
        return self.flush is not None and any(
            callback is self.flush for _, callback, _ in connection.run_on_commit
        )

    def send(self) -> None:
        frames, self.frames = self.frames, []
        if frames:
            _deliver(frames)


class _PublisherLoop:
    """One event loop per process, in its own thread, that sends to Redis. A sync caller
    would otherwise get a new loop per `async_to_sync` call, and channels-redis a new
    connection per loop (about 35 ms a flush); here the connections are kept."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None
    _pid: int | None = None

    @classmethod
    def run(cls, coroutine) -> None:
        with cls._lock:
            if cls._loop is None or cls._pid != os.getpid():  # none yet, or forked
                cls._loop, cls._pid = asyncio.new_event_loop(), os.getpid()
                threading.Thread(
                    target=cls._loop.run_forever, name="realtime-publisher", daemon=True
                ).start()
        asyncio.run_coroutine_threadsafe(coroutine, cls._loop).result()


def _deliver(frames: list[tuple[str, dict]]) -> None:
    if isinstance(get_channel_layer(), RedisChannelLayer):
        _PublisherLoop.run(_send_all(frames))
    else:
        # The in-memory layer's queues belong to the server's loop: send from there.
        async_to_sync(_send_all)(frames)


def _outbox() -> _Outbox:
    # One per connection: under ASGI each request has its own connection object.
    if not hasattr(connection, "realtime_outbox"):
        connection.realtime_outbox = _Outbox()
    return connection.realtime_outbox


def publish_to_conversation(conversation_id: int, frame: dict) -> None:
    _outbox().publish(conversation_stream(conversation_id), frame)


def publish_to_user(user_id: int, frame: dict) -> None:
    _outbox().publish(user_stream(user_id), frame)


# --- the frames of the core domain ----------------------------------------------------


def message_frame(message) -> dict:
    return {"type": "message.created", "message": MessageOutputSerializer(message).data}


def message_created(message) -> None:
    publish_to_conversation(message.conversation_id, message_frame(message))


def token_revoked(*, digest: str) -> None:
    """An API token was deleted (revoked, expired, or its user deleted): the sockets
    opened with it close."""
    _outbox().publish(token_stream(digest), {"type": "token.revoked"})


def access_revoked(*, user_id: int, conversation_ids: list[int]) -> None:
    """The user left a group: their open sockets on its conversations close."""
    publish_to_user(user_id, {"type": "access.revoked", "conversation_ids": conversation_ids})


def read_receipt(*, conversation_id: int, user, message_id: int) -> None:
    publish_to_conversation(
        conversation_id,
        {
            "type": "read.updated",
            "user": {"id": user.pk, "username": user.username},
            "last_read_message_id": message_id,
        },
    )
