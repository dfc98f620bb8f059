"""Refusals of the dispute workflow, each with a stable machine-readable code."""

from marketplace.core.errors import Conflict, InvalidInput


class DisputeOpen(Conflict):
    """The proposal already has an open dispute."""

    code = "dispute_open"


class DisputeClosed(Conflict):
    """The dispute is already resolved."""

    code = "dispute_closed"


class InvalidOutcome(InvalidInput):
    code = "invalid_outcome"


class InvalidRefundAmount(InvalidInput):
    """A split refunds more than zero and less than the price; other outcomes take none."""

    code = "invalid_refund_amount"
