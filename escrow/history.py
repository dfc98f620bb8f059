"""The wallet page's history: each ledger entry as the statement CSV counts it (what it
changed in *available* and in *escrow*, and both balances after it, from
`escrow.statements`), with the legs of one release from the buyer's escrow folded into
one line that unfolds into them."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Case, CharField, Max, Q, Value, When
from django.db.models.functions import Cast, Concat

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


def _line_key(wallet: Wallet) -> Case:
    """What one history line is: the legs of one release out of the wallet's own escrow
    share their operation's idempotency key; every other entry is a line of its own."""
    own_release_leg = Q(kind__in=RELEASE_LEGS, from_hold__buyer_wallet_id=wallet.pk)
    return Case(
        When(own_release_leg, then=Concat(Value("release:"), "idempotency_key")),
        default=Concat(Value("entry:"), Cast("id", CharField())),
        output_field=CharField(),
    )


def history_page(*, wallet: Wallet, number) -> tuple[Page, list[HistoryLine]]:
    """The page `number` of the wallet's history, newest first, and its lines. Pages
    count lines, not entries, so a release's legs are never split between two pages."""
    entries = wallet_transaction_list(wallet=wallet).annotate(line=_line_key(wallet))
    keys = (
        entries.values("line")
        .annotate(newest=Max("created_at"), last_id=Max("id"))
        .order_by("-newest", "-last_id")
    )
    page = Paginator(keys, PER_PAGE).get_page(number)
    entries = list(
        entries.filter(line__in=[row["line"] for row in page.object_list]).select_related(
            "from_hold__proposal",
            "to_hold__proposal",
            "from_hold__group_wallet__group",
            "to_wallet__user",
        )
    )
    if not entries:
        return page, []
    statement = _statement_by_id(wallet, entries)
    lines: dict[str, HistoryLine] = {}
    for entry in entries:
        row = statement[entry.pk]
        available_change, escrow_change, available_after, escrow_after = map(Decimal, row[4:8])
        line = lines.get(entry.line)
        if line is not None:
            line.escrow_change += escrow_change
        else:
            line = lines[entry.line] = HistoryLine(
                entry, available_change, escrow_change, available_after, escrow_after
            )
        if entry.line.startswith("release:"):
            line.legs.append(entry)
    for line in lines.values():
        line.legs.sort(key=lambda leg: leg.leg)
    return page, list(lines.values())
