"""Writes of the core domain: groups, memberships, conversations and messages."""

from django.db import transaction

from .models import Conversation, Message


@transaction.atomic
def message_create(
    *, conversation: Conversation, sender, body: str, metadata: dict | None = None
) -> Message:
    """Store a chat message. `sender=None` makes it a system message (a proposal event
    described by `metadata`)."""
    return Message.objects.create(
        conversation=conversation, sender=sender, body=body, metadata=metadata or {}
    )
