"""Realtime publishing over the channel layer, always after commit.

Two kinds of stream: a conversation's (`conversation.<id>`, every participant's socket
for that chat) and a user's (`user.<id>`, their notifications, wallet changes and access
changes). Publishers hand in the JSON frame; it goes out only once the surrounding
transaction commits, so a rolled-back change is never announced and a client never hears
of data it cannot yet read through the API.
"""

import logging
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .serializers import MessageOutputSerializer

logger = logging.getLogger(__name__)


def conversation_stream(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def user_stream(user_id: int) -> str:
    return f"user.{user_id}"


def _send(stream: str, frame: dict) -> None:
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(stream, {"type": "stream.frame", "frame": frame})
    except Exception:
        # The change is committed; a push that fails is logged, and clients catch up
        # through the API or on reconnect.
        logger.exception("could not publish %s to %s", frame.get("type"), stream)


def publish_to_conversation(conversation_id: int, frame: dict) -> None:
    transaction.on_commit(partial(_send, conversation_stream(conversation_id), frame))


def publish_to_user(user_id: int, frame: dict) -> None:
    transaction.on_commit(partial(_send, user_stream(user_id), frame))


# --- the frames of the core domain ----------------------------------------------------


def message_frame(message) -> dict:
    return {"type": "message.created", "message": MessageOutputSerializer(message).data}


def message_created(message) -> None:
    publish_to_conversation(message.conversation_id, message_frame(message))


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
