"""Statements as CSV rows: a user's wallet transactions, and the platform's fees by month
for finance. Rows only; the HTTP views (`api_statements`, the admin) write them out.

Every amount is a two-place decimal string; times are ISO 8601 in UTC. A wallet line's
`seal_id` and `seal_hash` are blank until the line is sealed (`escrow.sealing`).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from marketplace.core.formats import amount_text

from .models import EscrowTransaction, Wallet
from .selectors import wallet_transaction_list
from .wallet_entries import one_snapshot

Kind = EscrowTransaction.Kind
ZERO = Decimal("0.00")

WALLET_STATEMENT_HEADER = [
    "date",
    "transaction_id",
    "kind",
    "description",
    "available_change",
    "escrow_change",
    "available_after",
    "escrow_after",
    "currency",
    "memo",
    "seal_id",
    "seal_hash",
]
FEE_STATEMENT_HEADER = [
    "month",
    "currency",
    "platform_fees",
    "fee_entries",
    "adjustments_in",
    "adjustments_out",
    "net_revenue",
]


def wallet_statement_rows(
    *, wallet: Wallet, since: datetime | None = None, until: datetime | None = None
) -> Iterator[list[str]]:
    """The header, then every ledger entry touching the wallet, oldest first, with how it
    changed the available balance and the escrow held, and both balances after it. With
    `since` and `until` only the entries in [since, until), the balances still counting
    everything before. Rows are read from the database in chunks as they are written."""
    yield WALLET_STATEMENT_HEADER
    entries = wallet_transaction_list(wallet=wallet).select_related("from_hold", "to_hold")
    with one_snapshot():
        available = escrow = ZERO
        if since is not None:
            available, escrow = entries.balances_before(since)
        for entry in entries.between(since, until).oldest_first():
            available_change, escrow_change = entries.changes(entry)
            available += available_change
            escrow += escrow_change
            yield [
                entry.created_at.astimezone(UTC).isoformat(timespec="seconds"),
                str(entry.pk),
                entry.kind,
                entry.get_kind_display(),
                amount_text(available_change),
                amount_text(escrow_change),
                amount_text(available),
                amount_text(escrow),
                str(entry.amount.currency),
                entry.memo,
                "" if entry.seal_id is None else str(entry.seal_id),
                entry.seal_hash or "",
            ]


def fee_statement_rows() -> Iterator[list[str]]:
    """The header, then per month and currency: the platform fees collected, how many
    fee entries, staff adjustments into and out of the platform account, and the net."""
    yield FEE_STATEMENT_HEADER
    kinds = [Kind.PLATFORM_FEE, Kind.ADJUSTMENT]
    rows = (
        EscrowTransaction.objects.filter(kind__in=kinds, amount_currency__isnull=False)
        .filter(Q(to_wallet__kind=Wallet.Kind.PLATFORM) | Q(from_wallet__kind=Wallet.Kind.PLATFORM))
        .annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values("month", "amount_currency")
        .annotate(
            fees=Sum("amount", filter=Q(kind=Kind.PLATFORM_FEE)),
            fee_entries=Count("id", filter=Q(kind=Kind.PLATFORM_FEE)),
            adjustments_in=Sum(
                "amount", filter=Q(kind=Kind.ADJUSTMENT, to_wallet__kind=Wallet.Kind.PLATFORM)
            ),
            adjustments_out=Sum(
                "amount", filter=Q(kind=Kind.ADJUSTMENT, from_wallet__kind=Wallet.Kind.PLATFORM)
            ),
        )
        .order_by("month", "amount_currency")
    )
    for row in rows:
        fees = row["fees"] or ZERO
        into, out = row["adjustments_in"] or ZERO, row["adjustments_out"] or ZERO
        yield [
            row["month"].strftime("%Y-%m"),
            row["amount_currency"],
            amount_text(fees),
            str(row["fee_entries"]),
            amount_text(into),
            amount_text(out),
            amount_text(fees + into - out),
        ]


class _Line:
    """A file-like object whose `write` returns what it was given: `csv.writer` then
    hands back each row as text, ready to stream."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """Each row as one CSV line, as the rows come."""
    writer = csv.writer(_Line())
    return (writer.writerow(row) for row in rows)


def to_csv(rows: Iterable[list[str]]) -> str:
    return "".join(csv_lines(rows))
