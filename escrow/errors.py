from marketplace.core.errors import Conflict, InvalidInput, NotFound


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class EscrowNotHeld(Conflict):
    """The hold has nothing in it: already released or refunded."""

    code = "escrow_not_held"


class IdempotencyKeyReused(Conflict):
    """The key was already used for a different operation."""

    code = "idempotency_key_reused"


class CurrencyMismatch(InvalidInput):
    code = "currency_mismatch"


class PaymentsDisabled(NotFound):
    """No payment provider is configured for deposits (the sandbox is off)."""

    code = "payments_disabled"


class InvalidSplit(InvalidInput):
    code = "invalid_refund_amount"


class BalanceLimitExceeded(Conflict):
    """The operation would take a cached balance past what its column can hold."""

    code = "balance_limit_exceeded"
