"""The wallet page's history: each ledger entry as the statement CSV counts it (what it
changed in *available* and in *escrow*, and both balances after it, from
`escrow.statements`), with the legs of one release from the buyer's escrow folded into
one line that unfolds into them."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from .models import EscrowTransaction, Wallet
from .selectors import wallet_transaction_list
from .statements import wallet_statement_rows
from .wallet_entries import WalletEntries

Kind = EscrowTransaction.Kind
PER_PAGE = 25
ZERO = Decimal("0.00")
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


def _line_key(entry: EscrowTransaction, wallet: Wallet) -> str:
    """What one history line is: the legs of one release out of the wallet's own escrow
    share their operation's idempotency key; every other entry is a line of its own."""
    hold = entry.from_hold
    if entry.kind in RELEASE_LEGS and hold is not None and hold.buyer_wallet_id == wallet.pk:
        return f"release:{entry.idempotency_key}"
    return f"entry:{entry.pk}"


class _Lines:
    """The wallet's history lines, newest first, each the list of its entries, as Django's
    Paginator reads them: counted without reading them, and sliced by reading entries
    from the newest until the slice's lines are known, so the first page costs a page
    whatever the wallet's age. Pages count lines, not entries, so a release's legs are
    never split between two pages."""

    ordered = True  # the paginator warns about unordered lists

    def __init__(self, wallet: Wallet, entries: WalletEntries):
        self.wallet, self.entries = wallet, entries

    def count(self) -> int:
        own_legs = EscrowTransaction.objects.filter(
            kind__in=RELEASE_LEGS, from_hold__buyer_wallet_id=self.wallet.pk
        ).aggregate(legs=Count("id"), releases=Count("idempotency_key", distinct=True))
        return self.entries.count() - own_legs["legs"] + own_legs["releases"]

    def _grouped(self, entries: list[EscrowTransaction]) -> dict[str, list[EscrowTransaction]]:
        lines: dict[str, list[EscrowTransaction]] = {}
        for entry in entries:
            lines.setdefault(_line_key(entry, self.wallet), []).append(entry)
        return lines

    def __getitem__(self, page: slice) -> list[list[EscrowTransaction]]:
        start, stop = page.start, page.stop
        read = stop + 1
        while True:
            entries = self.entries[0:read]
            lines = self._grouped(entries)
            # One line more than the slice: every line of the slice has begun.
            if len(lines) > stop or len(entries) < read:
                break
            read *= 2
        chosen = dict(list(lines.items())[start:stop])
        releases = [key.removeprefix("release:") for key in chosen if key.startswith("release:")]
        if releases and len(entries) == read:  # older legs may lie past what was read
            seen = {entry.pk for entry in entries}
            for leg in self.entries.where(
                Q(kind__in=RELEASE_LEGS, idempotency_key__in=releases) & ~Q(pk__in=seen)
            ):
                chosen[_line_key(leg, self.wallet)].append(leg)
        return list(chosen.values())


def history_page(*, wallet: Wallet, number) -> tuple[Page, list[HistoryLine]]:
    """The page `number` of the wallet's history, newest first, and its lines."""
    entries = wallet_transaction_list(wallet=wallet).select_related(
        "from_hold__proposal",
        "to_hold__proposal",
        "from_hold__group_wallet__group",
        "to_wallet__user",
    )
    page = Paginator(_Lines(wallet, entries), PER_PAGE).get_page(number)
    grouped = list(page.object_list)
    if not grouped:
        return page, []
    everything = sorted(
        (entry for line in grouped for entry in line),
        key=lambda entry: (entry.created_at, entry.pk),
        reverse=True,
    )
    statement = _statement_by_id(wallet, everything)
    lines = []
    for legs in grouped:
        first = legs[0]  # the newest: its date and balances stand for the line
        row = statement[first.pk]
        available_change, escrow_change, available_after, escrow_after = map(Decimal, row[4:8])
        line = HistoryLine(first, available_change, escrow_change, available_after, escrow_after)
        if _line_key(first, wallet).startswith("release:"):
            line.legs = sorted(legs, key=lambda leg: leg.leg)
            line.escrow_change = sum((Decimal(statement[leg.pk][5]) for leg in legs), ZERO)
        lines.append(line)
    return page, lines
