"""The wallet chart: available and escrow balances over the account's recent entries,
summed from the ledger and drawn as inline SVG by the template (no script, no style
attribute)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .models import GroupWallet, Wallet
from .wallet_entries import WalletEntries

MAX_POINTS = 60
CHART_ENTRIES = 1000  # the chart's span: the newest entries, however old the account
WIDTH, HEIGHT, PAD = 600, 180, 8


@dataclass(frozen=True)
class Point:
    at: datetime
    available: Decimal
    escrow: Decimal


def balance_series(*, account: Wallet | GroupWallet) -> list[Point]:
    """Both balances after each of the account's newest `CHART_ENTRIES` entries, oldest
    first, sampled to at most `MAX_POINTS` (every n-th entry counted back from the latest,
    which is always kept). The balances start from the sums before the first of them, so
    the cost is the same for a day-old wallet and a ten-year-old one."""
    entries = WalletEntries(account).select_related("from_hold", "to_hold")
    keys = list(entries.newest_keys(CHART_ENTRIES))
    if not keys:
        return []
    since = keys[-1][0]
    available, escrow = entries.balances_before(since)
    points = []
    for entry in entries.between(since, None).read():
        available_change, escrow_change = entries.changes(entry)
        available += available_change
        escrow += escrow_change
        points.append(Point(entry.created_at, available, escrow))
    step = -(-len(points) // MAX_POINTS)  # ceiling
    return points[::-1][::step][::-1]


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
