"""A chat socket's read frames, coalesced into few writes of the read mark.

The chat page sends a read frame for every message it shows, so a busy chat would write
the read mark (and announce a receipt) per message per reader. Instead a socket writes
only when the mark moves forward, and at most once per `READ_MARK_INTERVAL` seconds for
a conversation and user across all their sockets and server processes (a turn taken in
the shared cache); reads that arrive meanwhile are folded into the next write, and a
socket that closes writes what it still owes.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.cache import cache

from . import services
from .models import ConversationReadMark

logger = logging.getLogger(__name__)

READ_MARK_INTERVAL = 2  # seconds
LATEST = 2**63 - 1  # "up to the latest message": the service caps the mark at the latest


class CoalescedReadMark:
    def __init__(self, *, conversation, user):
        self.conversation, self.user = conversation, user
        self.stored: int | None = None  # the mark as last read or written; None: not yet
        self.wanted = 0
        self._writer: asyncio.Task | None = None

    async def read(self, message_id: int | None) -> None:
        """The user has read up to `message_id` (None: the latest message)."""
        if self.stored is None:
            self.stored = await self._stored_mark()
        target = LATEST if message_id is None else message_id
        if target <= max(self.stored, self.wanted):
            return
        self.wanted = target
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_when_due())

    async def close(self) -> None:
        """The socket is closing: write the mark it still owes, now."""
        if self._writer is not None:
            self._writer.cancel()
        if self.stored is not None and self.wanted > self.stored:
            await self._write()

    async def _write_when_due(self) -> None:
        try:
            while self.wanted > self.stored:
                if await self._take_turn():
                    await self._write()
                else:
                    await asyncio.sleep(READ_MARK_INTERVAL)
        except Exception:
            logger.exception(
                "could not write the read mark of conversation %s", self.conversation.pk
            )

    async def _write(self) -> None:
        wanted = self.wanted
        self.stored = await database_sync_to_async(services.conversation_mark_read)(
            conversation=self.conversation, user=self.user, message_id=wanted
        )
        if self.wanted == wanted:  # served (the stored mark may be lower: the latest id)
            self.wanted = self.stored

    async def _take_turn(self) -> bool:
        key = f"chat-read-turn:{self.conversation.pk}:{self.user.pk}"
        return await sync_to_async(cache.add)(key, 1, timeout=READ_MARK_INTERVAL)

    @database_sync_to_async
    def _stored_mark(self) -> int:
        marks = ConversationReadMark.objects.filter(conversation=self.conversation, user=self.user)
        return marks.values_list("last_read_message_id", flat=True).first() or 0
