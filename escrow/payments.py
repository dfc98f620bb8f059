"""The payment provider behind deposits and payouts.

Only the sandbox exists today: it accepts every charge and every payout at once. A real
provider implements the same two calls; the ledger services never call it while a wallet
row is locked (charges before the transaction, payouts after commit).
"""

import logging
import uuid
from typing import Protocol

from django.conf import settings
from djmoney.money import Money

from .errors import PaymentsDisabled

logger = logging.getLogger(__name__)


class PaymentProvider(Protocol):
    def charge(self, *, user_id: int, amount: Money, idempotency_key: str) -> str:
        """Take `amount` from the user's payment method; return the provider's reference."""

    def payout(self, *, user_id: int, amount: Money, reference: str) -> None:
        """Send `amount` to the user's bank account."""


class SandboxProvider:
    def charge(self, *, user_id: int, amount: Money, idempotency_key: str) -> str:
        return f"sandbox-charge-{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key)}"

    def payout(self, *, user_id: int, amount: Money, reference: str) -> None:
        logger.info("sandbox payout of %s to user %s (%s)", amount, user_id, reference)


def payment_provider() -> PaymentProvider:
    if not settings.PAYMENTS_SANDBOX:
        raise PaymentsDisabled("Deposits are not available: no payment provider is enabled.")
    return SandboxProvider()
