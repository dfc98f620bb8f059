"""What each server process measures about itself, exported at `/metrics` with the
workflow's figures: request latency per route, database query and cache call timings,
and the use of the database connection pool when there is one.

The figures live in prometheus_client's metric objects. With `PROMETHEUS_MULTIPROC_DIR`
set (several uvicorn workers), prometheus_client keeps them in files in that directory,
one per process, and a scrape answered by any worker adds up every worker's files; the
script that starts the server empties the directory first. Without it, they live in
this process's memory.
"""

import os
import threading
from functools import lru_cache
from pathlib import Path
from time import perf_counter

from django.contrib.admindocs.views import simplify_regex
from django.db import connections
from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    multiprocess,
)

# prometheus_client picks its storage from this variable when it is imported: the same
# test here keeps the scrape reading where the figures are written.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# No `_created` series beside each counter and histogram (multiprocess mode has none).
disable_created_metrics()

UNMATCHED_ROUTE = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATEMENTS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})

REQUEST_HISTOGRAM = "marketplace_http_request_duration_seconds"
REQUEST_SECONDS = Histogram(
    REQUEST_HISTOGRAM,
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
)
QUERY_SECONDS = Histogram(
    "marketplace_db_query_duration_seconds",
    "Time to run one database statement, by database alias and statement kind.",
    ["alias", "statement"],
)
CACHE_SECONDS = Histogram(
    "marketplace_cache_operation_duration_seconds",
    "Time of one cache call, by operation.",
    ["operation"],
)

# psycopg_pool's `get_stats()`: the pool's state now (summed over the running processes)...
POOL_GAUGES = {
    key: Gauge(
        f"marketplace_db_pool_{name}",
        help_text,
        ["alias"],
        multiprocess_mode="livesum",
    )
    for key, name, help_text in (
        ("pool_min", "min_connections", "Connections the pool keeps open at least."),
        ("pool_max", "max_connections", "Connections the pool may open at most."),
        ("pool_size", "connections", "Connections open now, in use or idle."),
        ("pool_available", "idle_connections", "Connections idle in the pool now."),
        ("requests_waiting", "requests_waiting", "Requests waiting for a connection now."),
    )
}
# ...and its running totals, counted here by their increase since the last reading.
POOL_COUNTERS = {
    key: (Counter(f"marketplace_db_pool_{name}", help_text, ["alias"]), scale)
    for key, name, help_text, scale in (
        ("requests_num", "requests", "Connections asked of the pool.", 1),
        ("requests_queued", "requests_queued", "Requests that had to wait.", 1),
        ("requests_wait_ms", "requests_wait_seconds", "Time requests waited.", 1000),
        ("requests_errors", "requests_errors", "Requests that got no connection.", 1),
        ("usage_ms", "usage_seconds", "Time connections were lent out.", 1000),
        ("returns_bad", "returns_bad", "Connections returned in a bad state.", 1),
        ("connections_num", "connections_opened", "Connections the pool opened.", 1),
        ("connections_ms", "connections_opening_seconds", "Time spent opening them.", 1000),
        ("connections_errors", "connections_errors", "Failed connection attempts.", 1),
        ("connections_lost", "connections_lost", "Connections found broken.", 1),
    )
}
_pool_seen: dict[tuple[str, str], int] = {}
_pool_lock = threading.Lock()


class WorkerMetrics:
    """The collector of what the server processes measured: every worker's files in
    multiprocess mode, this process's registry otherwise; this process's pool figures
    refreshed first."""

    def collect(self):
        publish_pool_stats()
        if not MULTIPROCESS:
            yield from REGISTRY.collect()
            return
        _forget_gone_workers()
        yield from multiprocess.MultiProcessCollector(None).collect()


def _forget_gone_workers() -> None:
    """Drops the pool gauges of the workers that are gone (their counters and histograms
    still count). uvicorn stops a worker with a signal, so no exit hook of the worker
    can do it; the workers of one server share the directory and the host's pids."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not _running(pid):
            multiprocess.mark_process_dead(pid, directory)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


@lru_cache(maxsize=1024)
def route_label(route: str) -> str:
    """The resolver's pattern in the form people read, `/api/proposals/<proposal_id>/accept`
    for `api/proposals/(?P<proposal_id>[0-9]+)/accept(?:/)?$`: one label per route, never
    per path, so the number of series is bounded by the URLconf."""
    return simplify_regex(route).replace("\\", "")


def time_query(execute, sql, params, many, context):
    """A `connection.execute_wrapper` timing every statement."""
    start = perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        QUERY_SECONDS.labels(
            alias=context["connection"].alias, statement=_statement_kind(sql)
        ).observe(perf_counter() - start)


def _statement_kind(sql) -> str:
    words = sql.split(None, 1) if isinstance(sql, str) else []
    kind = words[0].upper() if words else ""
    return kind if kind in STATEMENTS else "other"


def install_query_timer() -> None:
    """Times the statements of this thread's connections. Outermost (first), so a wrapper
    someone pushes and pops later (`with connection.execute_wrapper(...)`) stays last."""
    for connection in connections.all():
        if time_query not in connection.execute_wrappers:
            connection.execute_wrappers.insert(0, time_query)


def publish_pool_stats() -> None:
    """Copies the psycopg pools' statistics of this process into the metrics, read
    through the connections this thread holds (asking a connection for its pool would
    open the pool)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        pool = getattr(connection, "pool", None)  # Django's PostgreSQL backend, pooled
        if pool is None:
            continue
        alias = connection.alias
        with _pool_lock:  # read and counted together, so two threads never count twice
            stats = pool.get_stats()
            for key, (counter, scale) in POOL_COUNTERS.items():
                series = counter.labels(alias=alias)  # present from the first reading
                increase = stats.get(key, 0) - _pool_seen.get((alias, key), 0)
                if increase > 0:
                    _pool_seen[(alias, key)] = stats[key]
                    series.inc(increase / scale)
        for key, gauge in POOL_GAUGES.items():
            gauge.labels(alias=alias).set(stats.get(key, 0))


class RequestMetricsMiddleware:
    """Times each request the URLconf answers, labelled by its route pattern (or
    `<unmatched>`), method and status class, and refreshes the database figures."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        install_query_timer()
        start = perf_counter()
        response = self.get_response(request)
        elapsed = perf_counter() - start
        match = getattr(request, "resolver_match", None)
        REQUEST_SECONDS.labels(
            route=route_label(match.route) if match else UNMATCHED_ROUTE,
            method=request.method if request.method in METHODS else "other",
            status=f"{response.status_code // 100}xx",
        ).observe(elapsed)
        publish_pool_stats()
        return response
