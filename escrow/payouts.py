"""What actually left one escrow hold, read from the ledger: the refund, the platform
fee, the leader's commission and each member's share, as posted."""

from .models import EscrowTransaction


def hold_payouts(*, hold_id: int) -> list[EscrowTransaction]:
    """The entries that emptied the hold, in posting order, recipients loaded."""
    return list(
        EscrowTransaction.objects.filter(from_hold_id=hold_id)
        .select_related("to_wallet__user")
        .order_by("created_at", "leg", "id")
    )
