"""Several server processes add up at `/metrics` (prometheus_client's multiprocess mode,
`PROMETHEUS_MULTIPROC_DIR`), whichever process answers the scrape; a directory that
does not exist stops the start. Each process is a real Python process with its own
settings, on the suite's test database and Redis."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.db import connection

from tests.ops.prometheus import TOKEN, Scrape

ROOT = Path(__file__).resolve().parents[2]
REQUESTS_PER_WORKER = 3

WORKER = f"""
import django
django.setup()
from django.test import Client
client = Client()
assert client.get("/healthz").status_code == 200  # borrows a pooled connection
for _ in range({REQUESTS_PER_WORKER}):
    assert client.get("/metrics").status_code == 401
"""
SCRAPER = f"""
import sys, django
django.setup()
from django.test import Client
response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer {TOKEN}")
assert response.status_code == 200, response.status_code
sys.stdout.write(response.content.decode())
"""


def run_process(script: str, **variables: str) -> str:
    """Runs `script` in a new process on the suite's test database."""
    test_database = f"/{connection.settings_dict['NAME']}"
    database = urlsplit(os.environ["DATABASE_URL"])._replace(path=test_database)
    env = {
        **os.environ,
        "DATABASE_URL": database.geturl(),
        "ALLOWED_HOSTS": "testserver",
        "METRICS_TOKEN": TOKEN,
        **variables,
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_workers_add_up_at_one_scrape(db, settings, tmp_path):
    for _ in range(2):
        run_process(WORKER, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))

    metrics = Scrape(run_process(SCRAPER, PROMETHEUS_MULTIPROC_DIR=str(tmp_path)))

    assert (
        metrics.value(
            "marketplace_http_request_duration_seconds_count",
            route="/metrics",
            method="GET",
            status="4xx",
        )
        == 2 * REQUESTS_PER_WORKER
    )
    assert len(list(tmp_path.glob("histogram_*.db"))) == 3  # one file per process
    assert metrics.value("marketplace_ledger_balanced") in (0, 1)  # the workflow's too
    # The workers are gone: only the scraping process's pool remains in the sum.
    assert len(list(tmp_path.glob("gauge_livesum_*.db"))) == 1
    pool_max = settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert metrics.value("marketplace_db_pool_max_connections", alias="default") == pool_max
    assert metrics.value("marketplace_db_pool_requests_total", alias="default") >= 3


def test_a_missing_multiprocess_directory_stops_the_start(tmp_path):
    missing = tmp_path / "nowhere"
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(missing)},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert f"PROMETHEUS_MULTIPROC_DIR must be an existing directory; got '{missing}'" in (
        done.stderr
    )
