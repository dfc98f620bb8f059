"""Events the proposal workflow announces after its transaction commits.

The services register `proposal_changed` / `task_changed` with `transaction.on_commit`, so
nothing is announced for a change that rolled back, and a participant never hears of a
state the API would not show yet. Each event is logged and pushed to the conversation's
websocket stream with the API's JSON shape (`proposal.updated`, `task.updated`).
"""

import logging
from functools import partial

from django.db import transaction

from marketplace.core.events import publish_to_conversation

from .serializers import ProposalOutputSerializer, TaskOutputSerializer

logger = logging.getLogger("proposals.events")


def proposal_changed(proposal) -> None:
    """Called once the change to `proposal` has committed."""
    logger.info(
        "proposal.changed",
        extra={
            "proposal_id": proposal.pk,
            "conversation_id": proposal.conversation_id,
            "status": proposal.status,
        },
    )
    publish_to_conversation(
        proposal.conversation_id,
        {"type": "proposal.updated", "proposal": ProposalOutputSerializer(proposal).data},
    )


def task_changed(task) -> None:
    """Called once the change to `task` has committed."""
    logger.info(
        "task.changed",
        extra={
            "task_id": task.pk,
            "proposal_id": task.proposal_id,
            "status": task.status,
            "assigned_to_id": task.assigned_to_id,
        },
    )
    publish_to_conversation(
        task.proposal.conversation_id,
        {"type": "task.updated", "task": TaskOutputSerializer(task).data},
    )


def on_commit_proposal_changed(proposal) -> None:
    transaction.on_commit(partial(proposal_changed, proposal))


def on_commit_task_changed(task) -> None:
    # Robust: the frame reads the task's proposal after the commit, and a failure there
    # (the database gone) must not tell the caller that a committed change failed.
    transaction.on_commit(partial(task_changed, task), robust=True)
