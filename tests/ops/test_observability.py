"""What each server process measures about itself, at `/metrics` and on the operations
dashboard: request latency per route pattern, database and cache timings, the pool."""

import math
import re

import pytest
from django.core.cache import cache, caches
from django.db import connection
from prometheus_client import REGISTRY

from marketplace import observability
from marketplace.core.models import User
from marketplace.route_latency import histogram_quantile, route_latencies
from marketplace.timed_cache import TimedRedisCache
from proposals.models import Proposal
from tests.factories import staff_user
from tests.ops.prometheus import TOKEN, scrape
from tests.proposals.factories import bring_to, make_team, propose

LATENCY = "marketplace_http_request_duration_seconds"
INF = math.inf
S = Proposal.Status


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def sample(name: str, **labels: str) -> float:
    """This process's value (the suite runs single-process: figures in memory)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- requests ------------------------------------------------------------------------


def test_requests_are_counted_by_route_pattern_method_and_status_class(
    db, client, client_for, metrics_token
):
    team = make_team()
    proposal = propose(team)
    api = client_for(team.buyer)
    detail = {"route": "/api/proposals/<proposal_id>", "method": "GET", "status": "2xx"}
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "4xx"}
    before = scrape(client)

    assert api.get(f"/api/proposals/{proposal.pk}").status_code == 200
    assert api.get(f"/api/proposals/{proposal.pk}/").status_code == 200
    assert api.get("/no/such/page").status_code == 404

    after = scrape(client)
    count = f"{LATENCY}_count"
    assert after.value(count, **detail) - before.get(count, **detail) == 2
    assert after.value(count, **unmatched) - before.get(count, **unmatched) == 1
    assert after.value(f"{LATENCY}_sum", **detail) > before.get(f"{LATENCY}_sum", **detail)
    assert after.families[LATENCY].type == "histogram"
    routes = {labels["route"] for labels in after.labels_of(count)}
    assert "/metrics" in routes
    assert not any(re.search(r"/[0-9]+(/|$)", route) for route in routes), routes


def test_the_scrape_counts_the_routes_of_regex_and_path_patterns_alike(db, client, metrics_token):
    client.force_login(staff_user("ops-viewer"))
    client.get("/admin/metrics/")
    client.get("/admin/marketplace/user/1/change/")
    routes = {labels["route"] for labels in scrape(client).labels_of(f"{LATENCY}_count")}
    assert {"/admin/metrics/", "/admin/marketplace/user/<path:object_id>/change/"} <= routes


# --- the database and the cache ------------------------------------------------------


def statements(kind: str) -> float:
    return sample("marketplace_db_query_duration_seconds_count", alias="default", statement=kind)


def test_each_statement_is_timed_by_kind(db):
    observability.install_query_timer()
    selects, updates = statements("SELECT"), statements("UPDATE")

    User.objects.count()
    User.objects.filter(pk=-1).update(first_name="x")

    assert statements("SELECT") == selects + 1
    assert statements("UPDATE") == updates + 1


def test_a_request_installs_the_timer_once_and_outside_other_wrappers(db, client):
    def passthrough(execute, sql, params, many, context):
        return execute(sql, params, many, context)

    while observability.time_query in connection.execute_wrappers:
        connection.execute_wrappers.remove(observability.time_query)
    client.force_login(staff_user("ops-viewer"))
    selects = statements("SELECT")

    with connection.execute_wrapper(passthrough):
        for _ in range(2):  # the second request finds the timer in place
            assert client.get("/admin/metrics/").status_code == 200
    # The `with` popped its own wrapper, not the timer pushed after it.
    assert connection.execute_wrappers.count(observability.time_query) == 1
    assert passthrough not in connection.execute_wrappers
    assert statements("SELECT") > selects


def test_cache_calls_are_timed_and_behave_as_before():
    gets = sample("marketplace_cache_operation_duration_seconds_count", operation="get")
    sets = sample("marketplace_cache_operation_duration_seconds_count", operation="set")

    cache.set("ops-test", 41)
    assert cache.get("ops-test") == 41
    assert cache.incr("ops-test") == 42

    assert isinstance(caches["default"], TimedRedisCache)
    assert sample("marketplace_cache_operation_duration_seconds_count", operation="get") == gets + 1
    assert sample("marketplace_cache_operation_duration_seconds_count", operation="set") == sets + 1


# --- the connection pool -------------------------------------------------------------


def test_the_pool_figures_follow_psycopg_pool(db, client, settings, metrics_token):
    connection.ensure_connection()
    pool = connection.pool
    assert pool is not None, "the suite runs on Django's psycopg pool"
    observability.publish_pool_stats()
    requests = sample("marketplace_db_pool_requests_total", alias="default")

    with pool.connection():  # one more connection asked of the pool
        pass
    metrics = scrape(client)

    assert metrics.value("marketplace_db_pool_requests_total", alias="default") == requests + 1
    max_size = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert metrics.value("marketplace_db_pool_max_connections", alias="default") == max_size
    assert metrics.value("marketplace_db_pool_connections", alias="default") >= 1
    assert metrics.value("marketplace_db_pool_requests_waiting", alias="default") == 0
    # Every series is there from the first reading, at zero until something happens.
    assert metrics.value("marketplace_db_pool_connections_lost_total", alias="default") == 0


# --- percentiles for the dashboard ---------------------------------------------------

BUCKETS = [(0.1, 10), (0.5, 60), (1.0, 100), (INF, 100)]


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, BUCKETS, 0.1 + 0.4 * 40 / 50),  # inside the second bucket
        (0.99, BUCKETS, 0.5 + 0.5 * 39 / 40),
        (0.05, BUCKETS, 0.1 * 5 / 10),  # the first bucket starts at 0
        (0.99, [(0.1, 10), (1.0, 90), (INF, 100)], 1.0),  # in +Inf: the highest bound
        (0.5, [(INF, 0), (0.1, 0)], None),  # nothing observed
        (0.5, [(0.1, 3)], None),  # no +Inf bucket
    ],
)
def test_percentiles_interpolate_as_histogram_quantile_does(q, buckets, expected):
    result = histogram_quantile(q, buckets)
    assert result == (pytest.approx(expected) if expected is not None else None)


def observe(route: str, seconds: float, status: str = "2xx") -> None:
    observability.REQUEST_SECONDS.labels(route=route, method="GET", status=status).observe(seconds)


def test_the_dashboard_lists_routes_busiest_first_with_p50_and_p99(db, client):
    for _ in range(3):
        observe("/ops-test/busy", 0.03)
    observe("/ops-test/busy", 0.6, status="5xx")
    observe("/ops-test/quiet", 0.2)
    client.force_login(staff_user("ops-viewer"))

    rows = {(row.method, row.route): row for row in route_latencies()}
    busy = rows[("GET", "/ops-test/busy")]
    html = client.get("/admin/metrics/").content.decode()

    assert (busy.requests, busy.server_errors) == (4, 1)
    assert busy.p50 == pytest.approx(0.025 + 0.025 * 2 / 3)
    assert busy.p99 == pytest.approx(0.5 + 0.25 * 0.96)
    table = html[html.index('<table id="route-latency"') :]
    assert re.search(
        r"<td>GET</td><td><code>/ops-test/busy</code></td><td>4</td>\s*<td>1</td>"
        r"<td>41\.7 ms</td><td>740\.0 ms</td>",
        table,
    )
    assert table.index("/ops-test/busy") < table.index("/ops-test/quiet")
    ordered = [row.requests for row in route_latencies()]
    assert ordered == sorted(ordered, reverse=True)


# --- query budgets -------------------------------------------------------------------

# Aggregates only, so the count does not grow with the data: 16 for the figures (one of
# them the unsealed backlog); the dashboard adds the session, the user and the admin's
# staff checks.
BUDGET_METRICS = 16
BUDGET_DASHBOARD = 19


def test_metrics_and_dashboard_stay_within_a_query_budget(
    db, client, metrics_token, django_assert_max_num_queries
):
    bring_to(make_team(), S.COMPLETED)
    bring_to(make_team(), S.DISPUTED, price="300.00")
    propose(make_team(), "50.00")
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")  # the ledger check, cached

    with django_assert_max_num_queries(BUDGET_METRICS):
        assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    client.force_login(staff_user("ops-viewer"))
    with django_assert_max_num_queries(BUDGET_DASHBOARD):
        assert client.get("/admin/metrics/").status_code == 200
