"""The wallet page's history: each ledger entry as the statement CSV counts it (what it
changed in *available* and in *escrow*, and both balances after it, from
`escrow.statements`), with the legs of one release from the buyer's escrow folded into
one line that unfolds into them."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.paginator import Page, Paginator

from .models import EscrowTransaction, Wallet
from .selectors import wallet_transaction_list
from .statements import wallet_statement_rows

Kind = EscrowTransaction.Kind
PER_PAGE = 25
RELEASE_LEGS = {Kind.PLATFORM_FEE, Kind.LEADER_COMMISSION, Kind.MEMBER_SHARE}


@dataclass
class HistoryLine:
    entry: EscrowTransaction  # the latest leg: its date and balances stand for the line
    available_change: Decimal
    escrow_change: Decimal
    available_after: Decimal
    escrow_after: Decimal
    legs: list[EscrowTransaction] = field(default_factory=list)

    @property
    def proposal(self):
        hold = self.entry.from_hold or self.entry.to_hold
        return getattr(hold, "proposal", None) if hold is not None else None

    @property
    def released_to(self):
        """The group a folded release paid out to."""
        return self.entry.from_hold.group_wallet.group if self.legs else None

    @property
    def released(self) -> Decimal:
        return -self.escrow_change


def _statement_by_id(wallet: Wallet, entries: list[EscrowTransaction]) -> dict[int, list[str]]:
    """The statement rows of the page's time span, by transaction id (the balances still
    count everything before it)."""
    oldest, newest = entries[-1].created_at, entries[0].created_at
    rows = wallet_statement_rows(
        wallet=wallet, since=oldest, until=newest + timedelta(microseconds=1)
    )
    next(rows)  # the header
    return {int(row[1]): row for row in rows}


def _is_release_leg(entry: EscrowTransaction, escrow_change: Decimal) -> bool:
    return entry.kind in RELEASE_LEGS and escrow_change < 0


def history_page(*, wallet: Wallet, number) -> tuple[Page, list[HistoryLine]]:
    """The page `number` of the wallet's entries, newest first, and its lines."""
    entries = wallet_transaction_list(wallet=wallet).select_related(
        "from_hold__proposal",
        "to_hold__proposal",
        "from_hold__group_wallet__group",
        "to_wallet__user",
    )
    page = Paginator(entries, PER_PAGE).get_page(number)
    entries = list(page.object_list)
    if not entries:
        return page, []
    statement = _statement_by_id(wallet, entries)
    lines: list[HistoryLine] = []
    for entry in entries:
        row = statement[entry.pk]
        available_change, escrow_change, available_after, escrow_after = map(Decimal, row[4:8])
        previous = lines[-1] if lines else None
        if (
            _is_release_leg(entry, escrow_change)
            and previous is not None
            and previous.legs
            and previous.entry.idempotency_key == entry.idempotency_key
        ):
            previous.legs.append(entry)
            previous.escrow_change += escrow_change
            continue
        line = HistoryLine(entry, available_change, escrow_change, available_after, escrow_after)
        if _is_release_leg(entry, escrow_change):
            line.legs.append(entry)
        lines.append(line)
    for line in lines:
        line.legs.sort(key=lambda leg: leg.leg)
    return page, lines
