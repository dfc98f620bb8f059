"""Dispute changes pushed to the conversation's websocket stream after commit, in the
API's shape (`dispute.updated`). The proposal's own frame is sent by its transition."""

from functools import partial

from django.db import transaction

from marketplace.core.events import publish_to_conversation

from .models import Dispute
from .serializers import DisputeOutputSerializer


def _publish(dispute_id: int) -> None:
    # Read after commit, with its evidence, exactly as GET /api/disputes/{id} shows it.
    dispute = (
        Dispute.objects.select_related("proposal", "opened_by", "resolved_by")
        .prefetch_related("messages__author", "evidence_items")
        .get(pk=dispute_id)
    )
    publish_to_conversation(
        dispute.proposal.conversation_id,
        {"type": "dispute.updated", "dispute": DisputeOutputSerializer(dispute).data},
    )


def on_commit_dispute_changed(dispute: Dispute) -> None:
    # Robust: the change has committed, so a failure here (the database gone while the
    # frame is read) is logged and the frame lost, never raised to the caller as if the
    # change had failed (its client would be told 503, "nothing was written").
    transaction.on_commit(partial(_publish, dispute.pk), robust=True)
