"""Figures of the ledger for the dashboard and `/metrics`, and the counter of money
operations by outcome.

Money figures (escrow held, fees, payouts, refunds) are read from the ledger itself, so
they are exact and survive anything. Outcomes of the money services (ok, refused, error)
cannot live in the ledger: a refusal writes nothing, and usually rolls back the caller's
whole transaction, so a counter row written beside it would vanish with it. They are
counted in the cache instead (Redis when `REDIS_URL` is set, shared by every worker and
host; per process on the embedded default), one key per outcome and day, kept 40 days,
plus an all-time total per outcome. Each count matches one `escrow.operations` log line.
Counting is best effort: an unreachable cache never fails a money operation.
"""

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from . import sealing
from .models import EscrowHold, EscrowTransaction
from .reconcile import find_problems

logger = logging.getLogger(__name__)
Kind = EscrowTransaction.Kind

WINDOW_DAYS = 30
OUTCOMES = ("ok", "refused", "error")
_DAY_KEY_TTL = 40 * 24 * 3600
# What the ledger's kinds add up to on the dashboard.
FLOWS = {
    "platform_fees": (Kind.PLATFORM_FEE,),
    "funds_distributed": (Kind.LEADER_COMMISSION, Kind.MEMBER_SHARE),
    "refunds": (Kind.REFUND,),
}


def window(now: datetime | None = None, days: int = WINDOW_DAYS) -> list[date]:
    """The last `days` calendar days (UTC), today last."""
    today = timezone.localdate(now or timezone.now(), UTC)
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def window_start(days: list[date]) -> datetime:
    return datetime.combine(days[0], datetime.min.time(), tzinfo=UTC)


# --- operation outcomes -------------------------------------------------------------


def _day_key(outcome: str, day: date) -> str:
    return f"metrics:escrow_ops:{day.isoformat()}:{outcome}"


def _total_key(outcome: str) -> str:
    return f"metrics:escrow_ops:total:{outcome}"


def _incr(key: str, timeout) -> None:
    cache.add(key, 0, timeout=timeout)
    cache.incr(key)


def count_operation(outcome: str, *, now: datetime | None = None) -> None:
    """One money operation ended with `outcome` ("ok", "refused" or "error")."""
    try:
        day = timezone.localdate(now or timezone.now(), UTC)
        _incr(_day_key(outcome, day), _DAY_KEY_TTL)
        _incr(_total_key(outcome), None)
    except Exception:  # the cache is telemetry: never fail the money operation for it
        logger.warning("could not count an escrow operation (%s)", outcome, exc_info=True)


def operation_counts(days: list[date]) -> dict[str, dict[date, int]]:
    """{outcome: {day: count}} over `days`."""
    keys = {_day_key(outcome, day): (outcome, day) for outcome in OUTCOMES for day in days}
    try:
        found = cache.get_many(list(keys))
    except Exception:
        logger.warning("could not read the escrow operation counters", exc_info=True)
        found = {}
    counts = {outcome: dict.fromkeys(days, 0) for outcome in OUTCOMES}
    for key, value in found.items():
        outcome, day = keys[key]
        counts[outcome][day] = int(value)
    return counts


def operation_totals() -> dict[str, int]:
    """All-time count per outcome (monotonic unless the cache is flushed)."""
    try:
        found = cache.get_many([_total_key(outcome) for outcome in OUTCOMES])
    except Exception:
        found = {}
    return {outcome: int(found.get(_total_key(outcome), 0)) for outcome in OUTCOMES}


# --- the ledger ---------------------------------------------------------------------


def escrow_locked() -> dict[str, Decimal]:
    """Money held in escrow right now, per currency."""
    rows = (
        EscrowHold.objects.filter(amount__gt=0)
        .values("amount_currency")
        .annotate(total=Sum("amount"))
        .order_by("amount_currency")
    )
    return {row["amount_currency"]: row["total"] for row in rows}


def flows_daily(days: list[date]) -> dict[str, dict[str, dict[date, Decimal]]]:
    """{flow: {currency: {day: amount}}} for the flows of `FLOWS` over `days`; every day
    present (zero when nothing moved)."""
    kinds = {kind: flow for flow, flow_kinds in FLOWS.items() for kind in flow_kinds}
    rows = (
        EscrowTransaction.objects.filter(kind__in=kinds, created_at__gte=window_start(days))
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "kind", "amount_currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    result: dict = {flow: {} for flow in FLOWS}
    for row in rows:
        if row["day"] not in days:
            continue
        per_day = result[kinds[row["kind"]]].setdefault(
            row["amount_currency"], dict.fromkeys(days, Decimal("0.00"))
        )
        per_day[row["day"]] += row["total"]
    return result


def flows_total() -> dict[str, dict[str, Decimal]]:
    """{flow: {currency: amount}} since the ledger began."""
    kinds = {kind: flow for flow, flow_kinds in FLOWS.items() for kind in flow_kinds}
    rows = (
        EscrowTransaction.objects.filter(kind__in=kinds)
        .values("kind", "amount_currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    result: dict = {flow: defaultdict(lambda: Decimal("0.00")) for flow in FLOWS}
    for row in rows:
        result[kinds[row["kind"]]][row["amount_currency"]] += row["total"]
    return {flow: dict(values) for flow, values in result.items()}


def refund_count() -> int:
    """Refund operations since the ledger began (a split's refund counts once)."""
    return (
        EscrowTransaction.objects.filter(kind=Kind.REFUND).aggregate(
            n=Count("idempotency_key", distinct=True)
        )["n"]
        or 0
    )


# A full reconcile reads the whole ledger: scrapes within this many seconds share one.
LEDGER_HEALTH_TTL = 60


def ledger_health() -> tuple[bool, int]:
    """The reconcile result: (clean, number of problems), at most a minute old."""
    problems = cache.get_or_set(
        "metrics:ledger-problems", lambda: len(find_problems()), LEDGER_HEALTH_TTL
    )
    return problems == 0, problems


# --- sealing ------------------------------------------------------------------------


class SealBacklogCollector:
    """The unsealed backlog for `/metrics`: a `seal_ledger` worker that stopped shows as a
    growing count and age."""

    def collect(self):
        count, age = sealing.backlog()
        yield GaugeMetricFamily(
            "marketplace_ledger_unsealed_transactions",
            "Escrow transactions not yet sealed into the ledger's hash chain.",
            value=count,
        )
        yield GaugeMetricFamily(
            "marketplace_ledger_oldest_unsealed_age_seconds",
            "Age in seconds of the oldest unsealed escrow transaction (0: none).",
            value=age,
        )
