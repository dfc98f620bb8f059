"""The wallet chart: available and escrow balances over time, summed from the ledger in
one query and drawn as inline SVG by the template (no script, no style attribute)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When, Window
from django.db.models.functions import Mod, RowNumber

from .models import EscrowTransaction, GroupWallet, Wallet

MAX_POINTS = 60
WIDTH, HEIGHT, PAD = 600, 180, 8
ZERO = Value(Decimal("0.00"))
ORDER = [F("created_at").asc(), F("id").asc()]


@dataclass(frozen=True)
class Point:
    at: datetime
    available: Decimal
    escrow: Decimal


def _signed(into: Q, out_of: Q) -> Case:
    """The entry's amount when it arrives, minus it when it leaves; 0 otherwise."""
    amount = DecimalField(max_digits=15, decimal_places=2)
    return Case(When(into, then=F("amount")), default=ZERO, output_field=amount) - Case(
        When(out_of, then=F("amount")), default=ZERO, output_field=amount
    )


def _sides(account) -> tuple[Q, Q, Q, Q]:
    """(available in, available out, escrow in, escrow out) for a user's or a group's
    wallet: a user's escrow is the holds it funded, a group's the holds of its deals."""
    if isinstance(account, GroupWallet):
        holds = "group_wallet_id"
        into, out_of = Q(to_group_wallet_id=account.pk), Q(from_group_wallet_id=account.pk)
    else:
        holds = "buyer_wallet_id"
        into, out_of = Q(to_wallet_id=account.pk), Q(from_wallet_id=account.pk)
    held = Q(**{f"to_hold__{holds}": account.pk})
    released = Q(**{f"from_hold__{holds}": account.pk})
    return into, out_of, held, released


def balance_series(*, account: Wallet | GroupWallet) -> list[Point]:
    """Both balances after every entry touching the account, oldest first, sampled to at
    most `MAX_POINTS` (every n-th entry counted back from the latest, which is always
    kept). One query: running sums and the sampling are window functions."""
    if account.pk is None:
        return []
    into, out_of, held, released = _sides(account)
    rows = (
        EscrowTransaction.objects.filter(into | out_of | held | released)
        .annotate(
            available_after=Window(Sum(_signed(into, out_of)), order_by=ORDER),
            escrow_after=Window(Sum(_signed(held, released)), order_by=ORDER),
            position=Window(RowNumber(), order_by=ORDER),
            entries=Window(Count("id")),
        )
        .annotate(
            offset=Mod(F("entries") - F("position"), (F("entries") + MAX_POINTS - 1) / MAX_POINTS)
        )
        .filter(offset=0)
        .order_by("created_at", "id")
        .values_list("created_at", "available_after", "escrow_after")
    )
    return [Point(at, available, escrow) for at, available, escrow in rows]


@dataclass(frozen=True)
class Chart:
    points: list[Point]
    available_line: str
    escrow_line: str
    top: Decimal
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def latest(self) -> Point:
        return self.points[-1]


def chart_of(points: list[Point]) -> Chart | None:
    """SVG polyline coordinates for both balances (time across, money up), each balance
    held flat until the next change. None without at least one entry."""
    if not points:
        return None
    top = max(max(p.available, p.escrow) for p in points) or Decimal(1)
    start, end = points[0].at, points[-1].at
    span = (end - start).total_seconds() or 1.0

    def x(at: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * (at - start).total_seconds() / span

    def y(value: Decimal) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * float(value / top)

    def line(value_of) -> str:
        coordinates, previous = [], None
        for point in points:
            if previous is not None:
                coordinates.append((x(point.at), y(value_of(previous))))
            coordinates.append((x(point.at), y(value_of(point))))
            previous = point
        if len(points) == 1:
            coordinates.append((WIDTH - PAD, y(value_of(points[0]))))
        return " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coordinates)

    return Chart(
        points=points,
        available_line=line(lambda p: p.available),
        escrow_line=line(lambda p: p.escrow),
        top=top,
    )
