"""Refusals of the proposal workflow, each with a stable machine-readable code.

They extend the domain errors of `marketplace.core.errors`, so the API's one exception handler
turns them into `{"error": {"code", "message"}}` with the status given here.
"""

from marketplace.core.errors import Conflict, InvalidInput


class InvalidTransition(Conflict):
    """The proposal's (or task's) current status forbids the change."""

    code = "invalid_transition"


class ProposalOpen(Conflict):
    """The conversation already has a pending, accepted, in-progress, delivered or
    disputed proposal."""

    code = "proposal_open"


class NotAMember(InvalidInput):
    """A task can only be assigned to a current member of the group."""

    code = "not_a_member"


class AutoReleaseNotDue(Conflict):
    """The buyer still has time to confirm or dispute the delivery."""

    code = "auto_release_not_due"
