"""What actually left escrow holds, read from the ledger: the refund, the platform fee,
the leader's commission and each member's share, as posted."""

from .models import EscrowTransaction


def holds_payouts(*, hold_ids) -> dict[int, list[EscrowTransaction]]:
    """The entries that emptied each of the holds, by hold id, in posting order,
    recipients loaded; one query for all of them. A hold nothing left has no key."""
    entries = (
        EscrowTransaction.objects.filter(from_hold_id__in=hold_ids)
        .select_related("to_wallet__user")
        .order_by("created_at", "leg", "id")
    )
    payouts: dict[int, list[EscrowTransaction]] = {}
    for entry in entries:
        payouts.setdefault(entry.from_hold_id, []).append(entry)
    return payouts
