"""Events the proposal workflow announces after its transaction commits.

This is the one place where realtime pushes and notifications hook in: the services
register `proposal_changed` / `task_changed` with `transaction.on_commit`, so nothing is
announced for a change that rolled back. For now they only log.
"""

import logging
from functools import partial

from django.db import transaction

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


def on_commit_proposal_changed(proposal) -> None:
    transaction.on_commit(partial(proposal_changed, proposal))


def on_commit_task_changed(task) -> None:
    transaction.on_commit(partial(task_changed, task))
