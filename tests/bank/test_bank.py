"""The bank test's short version, in the normal suite: three workers for 20 s on the
suite's PostgreSQL (a `bank_...` database of its own next to the test database) and
Redis, with a worker SIGKILLed and backends terminated mid-transaction, then every
recorded call checked against the ledger (`tests.bank.checker`), task-points payouts
included, and the ledger the workers sealed as they went proven by reconcile. `make bank`
runs the long version with PostgreSQL and Redis restarts on servers of its own."""

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.live import free_port

pytestmark = pytest.mark.bank

SECONDS = 20


def test_the_bank_holds_under_a_killed_worker_and_terminated_backends(tmp_path):
    database = connection.settings_dict
    server = f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:" + str(
        database["PORT"] or 5432
    )
    report_path = tmp_path / "report.json"

    done = subprocess.run(
        [sys.executable, "-m", "tests.bank.run", "--database-url", f"{server}/postgres",
         "--redis-url", settings.REDIS_URL, "--seconds", str(SECONDS), "--workers", "3",
         "--faults", "sigkill,pg_terminate", "--fault-every", "5",
         "--port", str(free_port()), "--seed", "7", "--report", str(report_path)],
        cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert report_path.exists(), done.stderr[-5000:]
    report = json.loads(report_path.read_text())
    assert report["violations"] == [], report["violations"]
    assert done.returncode == 0, done.stderr[-5000:]
    assert report["faults"]["sigkill"] >= 1 and report["faults"]["pg_terminate"] >= 1
    assert sum(fault.get("backends", 0) for fault in report["fault_log"]) >= 1
    assert report["http_500s"] == 0
    # The mix really ran: both ways in, money moved all the way to payouts.
    assert report["operations"] >= 50
    assert set(report["by_transport"]) >= {"service", "http"}
    for outcome in ("deposit:ok", "accept:ok", "confirm:ok", "add_task:ok", "finish_task:ok"):
        assert report["outcomes"].get(outcome, 0) >= 1, report["outcomes"]
    # The workers sealed while money moved. (How many pools were shared by done points,
    # `task_points_payouts`, depends on the timing: the checker's own test pins that rule.)
    assert report["sealing"]["seals_by_workers"] >= 1, report["sealing"]
    assert report["sealing"]["unsealed_after"] == 0, report["sealing"]
