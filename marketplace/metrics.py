"""The operators' figures across the whole workflow, for the admin dashboard and the
Prometheus endpoint. They span proposals, disputes and the ledger, so they live in the
project package at the top, which may read every app; the ledger's own figures come from
`escrow.metrics`.

Definitions (over the last 30 days, UTC, unless "now" or "total"):

- escrow operation success rate: ok / (ok + refused + error) money operations, from the
  operation counters (`escrow.metrics`); failed = refused + error.
- balance accuracy: the reconcile result now (1 clean / 0 not) and its problem count.
- proposal creation rate: new (non-legacy) proposals per day.
- acceptance rate: proposals accepted / (accepted + rejected), by the day of the answer.
- dispute rate: of the proposals accepted in the window, the share that got a dispute.
- average time to completion: completed_at - accepted_at of proposals completed in the
  window (confirm, automatic, staff or dispute release).
- escrow locked: held in escrow holds now. Funds distributed: leader commissions and
  member shares paid out of escrow. Platform fees and refunds: as in the ledger.
"""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import TruncDate
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from disputes.models import Dispute
from escrow import metrics as ledger_metrics
from proposals.models import Proposal

from . import observability


@dataclass
class Snapshot:
    now: datetime
    days: list[date]
    # escrow operations
    operations: dict[str, dict[date, int]]  # outcome -> day -> count
    operation_totals: dict[str, int]  # outcome -> all-time count
    ledger_clean: bool
    ledger_problems: int
    # money (per currency)
    escrow_locked: dict[str, Decimal]
    flows: dict[str, dict[str, dict[date, Decimal]]]  # flow -> currency -> day -> amount
    flow_totals: dict[str, dict[str, Decimal]]  # flow -> currency -> all-time amount
    refund_count_total: int
    # the workflow
    proposals_created: dict[date, int]
    proposals_accepted: dict[date, int]
    proposals_rejected: dict[date, int]
    disputes_opened: dict[date, int]
    proposals_completed: dict[date, int]
    accepted_in_window: int = 0
    disputed_of_accepted: int = 0
    completion_seconds_avg: float | None = None
    proposals_created_total: int = 0
    disputes_opened_total: int = 0
    disputes_open_now: int = 0

    # --- derived figures ---

    def window_sum(self, series: dict[date, int]) -> int:
        return sum(series.values())

    @property
    def operations_ok(self) -> int:
        return self.window_sum(self.operations["ok"])

    @property
    def operations_failed(self) -> int:
        return self.window_sum(self.operations["refused"]) + self.window_sum(
            self.operations["error"]
        )

    @property
    def success_rate(self) -> float | None:
        total = self.operations_ok + self.operations_failed
        return self.operations_ok / total if total else None

    @property
    def creation_rate_per_day(self) -> float:
        return self.window_sum(self.proposals_created) / len(self.days)

    @property
    def acceptance_rate(self) -> float | None:
        accepted = self.window_sum(self.proposals_accepted)
        answered = accepted + self.window_sum(self.proposals_rejected)
        return accepted / answered if answered else None

    @property
    def dispute_rate(self) -> float | None:
        if not self.accepted_in_window:
            return None
        return self.disputed_of_accepted / self.accepted_in_window

    def flow_window(self, flow: str) -> dict[str, Decimal]:
        return {
            currency: sum(per_day.values(), Decimal("0.00"))
            for currency, per_day in self.flows[flow].items()
        }


def _per_day(queryset, stamp: str, days: list[date]) -> dict[date, int]:
    counts = dict.fromkeys(days, 0)
    rows = (
        queryset.filter(**{f"{stamp}__gte": ledger_metrics.window_start(days)})
        .annotate(day=TruncDate(stamp, tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        if row["day"] in counts:
            counts[row["day"]] += row["n"]
    return counts


def collect(*, now: datetime | None = None) -> Snapshot:
    now = now or timezone.now()
    days = ledger_metrics.window(now)
    start = ledger_metrics.window_start(days)
    proposals = Proposal.objects.filter(is_legacy=False)
    clean, problems = ledger_metrics.ledger_health()

    accepted = proposals.filter(accepted_at__gte=start)
    completed = proposals.filter(
        completed_at__gte=start, accepted_at__isnull=False, status=Proposal.Status.COMPLETED
    )
    duration = ExpressionWrapper(F("completed_at") - F("accepted_at"), output_field=DurationField())
    average = completed.aggregate(avg=Avg(duration))["avg"]

    return Snapshot(
        now=now,
        days=days,
        operations=ledger_metrics.operation_counts(days),
        operation_totals=ledger_metrics.operation_totals(),
        ledger_clean=clean,
        ledger_problems=problems,
        escrow_locked=ledger_metrics.escrow_locked(),
        flows=ledger_metrics.flows_daily(days),
        flow_totals=ledger_metrics.flows_total(),
        refund_count_total=ledger_metrics.refund_count(),
        proposals_created=_per_day(proposals, "created_at", days),
        proposals_accepted=_per_day(proposals, "accepted_at", days),
        proposals_rejected=_per_day(proposals, "rejected_at", days),
        disputes_opened=_per_day(Dispute.objects.all(), "created_at", days),
        proposals_completed=_per_day(completed, "completed_at", days),
        accepted_in_window=accepted.count(),
        disputed_of_accepted=accepted.filter(disputes__isnull=False).distinct().count(),
        completion_seconds_avg=average.total_seconds() if average is not None else None,
        proposals_created_total=proposals.count(),
        disputes_opened_total=Dispute.objects.count(),
        disputes_open_now=Dispute.objects.filter(status=Dispute.Status.OPEN).count(),
    )


# --- the Prometheus exposition (prometheus_client) -----------------------------------


def _number(value) -> float:
    """Prometheus values are floats; a figure that has no value yet (a rate of nothing)
    is NaN."""
    return math.nan if value is None else float(value)


def _single(kind, name: str, help_text: str, value):
    return kind(name, help_text, value=_number(value))


def _by_label(kind, name: str, help_text: str, label: str, values: dict):
    family = kind(name, help_text, labels=[label])
    for key, value in values.items():
        family.add_metric([key], _number(value))
    return family


def _by_currency(kind, name: str, help_text: str, amounts: dict[str, Decimal]):
    return _by_label(kind, name, help_text, "currency", dict(sorted(amounts.items())))


class WorkflowCollector:
    """The figures above as Prometheus metric families, read afresh at each scrape from
    the database and the shared cache (so every server process answers the same)."""

    def collect(self):
        s = collect()
        p = "marketplace_"
        yield _by_label(
            CounterMetricFamily,
            f"{p}escrow_operations_total",
            "Money operations by outcome since the counters began (ok, refused, error).",
            "outcome",
            s.operation_totals,
        )
        yield _by_label(
            GaugeMetricFamily,
            f"{p}escrow_operations_30d",
            "Money operations by outcome over the last 30 days.",
            "outcome",
            {outcome: sum(per_day.values()) for outcome, per_day in s.operations.items()},
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}escrow_operations_failed_30d",
            "Money operations refused or failed over the last 30 days.",
            s.operations_failed,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}escrow_operation_success_ratio_30d",
            "Share of money operations that succeeded over the last 30 days (NaN: none).",
            s.success_rate,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}ledger_balanced",
            "1 when reconcile finds the stored balances equal to the ledger, else 0.",
            1 if s.ledger_clean else 0,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}ledger_problems",
            "Problems reconcile reports (at most a minute old).",
            s.ledger_problems,
        )
        yield _by_currency(
            GaugeMetricFamily, f"{p}escrow_locked", "Money held in escrow now.", s.escrow_locked
        )
        for flow, help_text in (
            ("platform_fees", "Platform fees collected"),
            ("funds_distributed", "Leader commissions and member shares paid out of escrow"),
            ("refunds", "Escrow refunded to buyers"),
        ):
            yield _by_currency(
                CounterMetricFamily,
                f"{p}{flow}_total",
                f"{help_text}, since the ledger began.",
                s.flow_totals[flow],
            )
            yield _by_currency(
                GaugeMetricFamily,
                f"{p}{flow}_30d",
                f"{help_text}, over the last 30 days.",
                s.flow_window(flow),
            )
        yield _single(
            CounterMetricFamily,
            f"{p}refunds_count_total",
            "Refund operations.",
            s.refund_count_total,
        )
        yield _single(
            CounterMetricFamily,
            f"{p}proposals_created_total",
            "Proposals sent.",
            s.proposals_created_total,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}proposals_created_per_day_30d",
            "Proposals sent per day, averaged over the last 30 days.",
            s.creation_rate_per_day,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}proposal_acceptance_ratio_30d",
            "Accepted / (accepted + rejected) over the last 30 days (NaN: none answered).",
            s.acceptance_rate,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}dispute_ratio_30d",
            "Share of the proposals accepted in the last 30 days that were disputed.",
            s.dispute_rate,
        )
        yield _single(
            GaugeMetricFamily,
            f"{p}proposal_completion_seconds_avg_30d",
            "Average seconds from acceptance to completion, completions of the last 30 days.",
            s.completion_seconds_avg,
        )
        yield _single(
            CounterMetricFamily,
            f"{p}disputes_opened_total",
            "Disputes opened.",
            s.disputes_opened_total,
        )
        yield _single(
            GaugeMetricFamily, f"{p}disputes_open", "Disputes open now.", s.disputes_open_now
        )


def exposition() -> bytes:
    """The body of `/metrics` (text format 0.0.4): the workflow's figures and what every
    server process measured about itself (`marketplace.observability`)."""
    registry = CollectorRegistry()
    registry.register(WorkflowCollector())
    registry.register(ledger_metrics.SealBacklogCollector())
    registry.register(observability.WorkerMetrics())
    return generate_latest(registry)
