"""Latency per route for the operations dashboard, read from the request histogram of
`marketplace.observability` (every worker's, in multiprocess mode) since the servers
started. Percentiles are interpolated inside the histogram's buckets the way
Prometheus' `histogram_quantile` does, so the dashboard and a Prometheus query agree."""

import math
from collections import defaultdict
from dataclasses import dataclass, field

from .observability import REQUEST_HISTOGRAM, WorkerMetrics


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile (0 <= q <= 1) of a histogram given as (upper bound, cumulative
    count) pairs ending with +Inf; None when it holds no observation. As Prometheus: the
    observations of a bucket are spread evenly between its bounds (from 0 for the first),
    and a rank in the +Inf bucket answers the highest finite bound."""
    buckets = sorted(buckets)
    if len(buckets) < 2 or buckets[-1][0] != math.inf or not buckets[-1][1]:
        return None
    rank = q * buckets[-1][1]
    index = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    upper, count = buckets[index]
    if upper == math.inf:
        return buckets[-2][0]
    if index == 0 and upper <= 0:
        return upper
    lower, below = buckets[index - 1] if index else (0.0, 0.0)
    return lower + (upper - lower) * (rank - below) / (count - below)


@dataclass
class RouteLatency:
    method: str
    route: str
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))
    requests: int = 0
    server_errors: int = 0

    def quantile(self, q: float) -> float | None:
        return histogram_quantile(q, list(self.buckets.items()))

    @property
    def p50(self) -> float | None:
        return self.quantile(0.5)

    @property
    def p99(self) -> float | None:
        return self.quantile(0.99)


def route_latencies() -> list[RouteLatency]:
    """One row per (method, route) pattern, status classes added up, busiest first."""
    rows: dict[tuple[str, str], RouteLatency] = {}
    for family in WorkerMetrics().collect():
        if family.name != REQUEST_HISTOGRAM:
            continue
        for sample in family.samples:
            labels = sample.labels
            key = (labels["method"], labels["route"])
            row = rows.setdefault(key, RouteLatency(*key))
            if sample.name.endswith("_bucket"):
                row.buckets[float(labels["le"])] += sample.value
            elif sample.name.endswith("_count"):
                row.requests += int(sample.value)
                if labels["status"] == "5xx":
                    row.server_errors += int(sample.value)
    return sorted(rows.values(), key=lambda row: (-row.requests, row.route, row.method))
