"""Statements as CSV rows: a user's wallet transactions, and the platform's fees by month
for finance. Rows only; the HTTP views (`api_statements`, the admin) write them out.

Every amount is a two-place decimal string; times are ISO 8601 in UTC.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from marketplace.core.formats import amount_text

from .models import EscrowTransaction, Wallet
from .selectors import wallet_transaction_list

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


def _changes(entry: EscrowTransaction, wallet: Wallet) -> tuple[Decimal, Decimal]:
    """How the entry moved the wallet's available balance and the escrow it holds as a
    buyer (through its own holds)."""
    amount = entry.amount.amount
    available = ZERO
    if entry.to_wallet_id == wallet.pk:
        available += amount
    if entry.from_wallet_id == wallet.pk:
        available -= amount
    escrow = ZERO
    if entry.to_hold_id is not None and entry.to_hold.buyer_wallet_id == wallet.pk:
        escrow += amount
    if entry.from_hold_id is not None and entry.from_hold.buyer_wallet_id == wallet.pk:
        escrow -= amount
    return available, escrow


def wallet_statement_rows(*, wallet: Wallet) -> Iterator[list[str]]:
    """The header, then every ledger entry touching the wallet, oldest first, with how it
    changed the available balance and the escrow held, and both balances after it."""
    yield WALLET_STATEMENT_HEADER
    entries = (
        wallet_transaction_list(wallet=wallet)
        .select_related("from_hold", "to_hold")
        .order_by("created_at", "id")
    )
    available = escrow = ZERO
    for entry in entries.iterator(chunk_size=1000):
        available_change, escrow_change = _changes(entry, wallet)
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


def to_csv(rows: Iterable[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return buffer.getvalue()
