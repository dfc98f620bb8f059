"""The benchmark's pieces at a tiny size, so that CI notices when the bench breaks: every
section measures for real (service worker processes, uvicorn under locust, websockets
over two servers, the seeded data behind the pages) against the test database, the
money it moved leaves the ledger clean, and the table renders its rows."""

import dataclasses

import pytest
from django.conf import settings
from django.db import connection

from bench import (
    data_bench,
    http_bench,
    pgbench,
    realtime_bench,
    report,
    seed,
    services_bench,
    stack,
)
from bench.config import TINY
from escrow.reconcile import find_problems
from proposals.models import Proposal

pytestmark = pytest.mark.django_db(transaction=True)

SMOKE = dataclasses.replace(
    TINY,
    pgbench_seconds=1,
    pgbench_scale=1,
    http_seconds=1,
    http_money_requests=2,
    http_clients=(1,),
    ws_clients=3,
    ws_messages=2,
    data_small=(4, 10),
    data_large=(8, 20),
)


@pytest.fixture
def bench_on_test_database(monkeypatch):
    """The bench's servers and worker processes on this test's database and Redis; the
    servers with DEBUG on, which serves the static files without `collectstatic`, and
    this process's secret key, which signs the sessions made here."""
    monkeypatch.setattr(stack, "REDIS_URL", settings.REDIS_URL)
    overrides = {"DEBUG": "1", "SECRET_KEY": settings.SECRET_KEY}
    monkeypatch.setattr(stack, "SERVER_OVERRIDES", overrides)
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    server = f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}"
    monkeypatch.setattr(stack, "SERVER", f"{server}:{database['PORT'] or 5432}")
    name = database["NAME"]
    monkeypatch.setenv("DATABASE_URL", stack.database_url(name))
    monkeypatch.setenv("REDIS_URL", settings.REDIS_URL)
    # pgbench's own database, named after the test database.
    monkeypatch.setattr(stack, "PREFIX", f"{name}_")
    yield name
    stack.drop_database(stack.database_name("pgbench"))


def test_every_section_measures_and_the_ledger_stays_clean(bench_on_test_database, tmp_path):
    database = bench_on_test_database
    services = services_bench.measure_levels((1,), 2, run_id="smoke")
    http = http_bench.measure(SMOKE, database=database, run_id="smoke", logs=tmp_path)
    realtime = realtime_bench.measure(SMOKE, database=database, run_id="smoke", logs=tmp_path)
    data = data_bench.measure(SMOKE, database=database, logs=tmp_path)

    assert services["1"]["accept"] > 0 and services["1"]["confirm"] > 0
    for name, run in http["1"].items():
        assert run["requests"] > 0 and run["failures"] == 0, (name, run)
    # The money runs moved money: what HTTP accepted was delivered and confirmed (by HTTP,
    # or after the run by the cleanup), besides the services worker's two.
    accepted = http["1"]["accept"]["requests"]
    assert 1 <= accepted <= SMOKE.http_money_requests
    completed = Proposal.objects.filter(status=Proposal.Status.COMPLETED)
    assert completed.count() == 2 + accepted
    assert realtime["chat"]["samples"] == realtime["redis"]["samples"] == 2
    assert realtime["chat"]["p99_ms"] >= realtime["chat"]["p50_ms"] > 0
    assert seed._seeded("groups") == 8 and seed._seeded("rows") == 20
    for size in ("small", "large"):
        assert set(data[size]["timings"]) == set(data_bench.TIMED)
    assert find_problems() == []

    tps = pgbench.measure(SMOKE, (1,))
    assert tps["1"] > 0
    rows = [
        *report.services_rows(services, tps),
        *report.http_rows(http, tps),
        *report.realtime_rows(realtime),
        *report.data_rows(data),
        report.reconcile_row({database: True}),
    ]
    text = report.table(rows)
    assert "accept @1 procs" in text and "statement first byte (large)" in text
    assert text.splitlines()[-1].split()[-1] == "pass"  # the reconcile row
