"""The bank test: `python -m tests.bank.run` (`make bank`; `BANK_SECONDS` and
`BANK_WORKERS` tune it). N worker processes run a random mix of operations through the
services and the HTTP API (uvicorn, 2 workers, production-like settings) for a set time
while faults are injected in turn, each worker sealing the ledger every few seconds; then
`checker` holds every recorded call against the database, what the workers left unsealed
is sealed, and `manage.py reconcile` must exit 0, which proves every seal too. Prints a
JSON report and exits 1 on any violation.

Without `--database-url` the run starts its own PostgreSQL cluster and Redis on other
ports (so `pg_restart` and `redis_restart` never touch the machine's servers) in a
temporary directory. With `--database-url` (the CI version, on the suite's server) it
creates a `bank_...` database there, uses `--redis-url`, and refuses the restart faults.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from random import Random
from urllib.parse import urlsplit, urlunsplit

import django
import psycopg
from django.core.management import CommandError, call_command
from django.db import connections

from . import faults as fault_injectors
from .recorder import Recorder, calls
from .servers import BASE_DIR, AppServer, PostgresCluster, RedisServer

PG_PORT = 55432
REDIS_PORT = 6390
APP_PORT = 8790


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


class Bank:
    def __init__(self, options):
        self.options = options
        self.rng = Random(options.seed)
        self.root = Path(tempfile.mkdtemp(prefix="bank-"))
        self.records = self.root / "records"
        self.records.mkdir()
        self.database = f"bank_{os.getpid()}"
        self.cluster = self.redis = self.app = self.admin_url = None
        self.django_ready = False
        self.created = time.time()
        self.timings: dict[str, float] = {}
        self.workers: list[subprocess.Popen] = []
        self.worker_count = 0
        self.until = 0.0
        self.faults: list[dict] = []
        self.probe_recorder = Recorder(self.records / "worker-probe.jsonl")

    # --- servers ----------------------------------------------------------------------

    def start_servers(self) -> None:
        if self.options.database_url:
            server_url = self.options.database_url
            redis_url = self.options.redis_url
        else:
            self.cluster = PostgresCluster(self.root / "postgres", PG_PORT)
            self.cluster.init()
            self.cluster.start()
            self.redis = RedisServer(self.root / "redis", REDIS_PORT)
            self.redis.start()
            server_url, redis_url = self.cluster.url("postgres"), self.redis.url(0)
        self.admin_url = _with_database(server_url, "postgres")
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self.env = {
            **os.environ,
            "DATABASE_URL": _with_database(server_url, self.database),
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bank-test-secret-key-" + "x" * 40,
            "DEBUG": "0",
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PAYMENTS_SANDBOX": "1",
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        }
        os.environ.update(self.env)
        django.setup()
        self.django_ready = True
        call_command("migrate", interactive=False, verbosity=0)
        self.app = AppServer(port=self.options.port, env=self.env, log_path=self.root / "app.log")
        self.app.start()  # it comes up while the world is made

    def stop_servers(self) -> None:
        if self.app:
            self.app.stop()
        if self.django_ready:
            connections.close_all()
        if self.cluster:
            self.cluster.destroy()
        elif self.admin_url:
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self.redis:
            self.redis.stop()

    # --- the world and the workers ----------------------------------------------------

    def make_world(self) -> None:
        from .world import world_create

        self.world = world_create()
        self.world_path = self.root / "world.json"
        self.world.save(self.world_path)

    def probe_identity(self) -> tuple[int, str, int]:
        from marketplace.core.models import Conversation

        connections.close_all()  # a fault may have broken this process's connection

        buyer = self.world.buyers[0]
        conversation = Conversation.objects.filter(product_owner_id=buyer).first()
        return buyer, self.world.tokens[str(buyer)], conversation.pk

    def start_worker(self) -> None:
        index = self.worker_count
        self.worker_count += 1
        # The services' e-mails go to the console: into the worker's log.
        log = (self.root / f"worker-{index}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bank.worker", "--index", str(index),
             "--world", str(self.world_path), "--records", str(self.records),
             "--until", str(self.until), "--base-url", self.app.base_url,
             "--seed", str(self.options.seed * 1000 + index),
             "--timeouts", str(self.options.timeouts),
             "--seal-every", str(self.options.seal_every)],
            env=self.env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        process.records = self.records / f"worker-{index}.jsonl"
        self.workers.append(process)

    def live_workers(self) -> list[subprocess.Popen]:
        return [worker for worker in self.workers if worker.poll() is None]

    # --- the run ----------------------------------------------------------------------

    def run(self) -> dict:
        started = time.time()
        self.until = started + self.options.seconds
        for _ in range(self.options.workers):
            self.start_worker()
        kinds = self.options.faults
        next_fault = started + self.options.fault_every
        while time.time() < self.until:
            if kinds and time.time() >= next_fault and time.time() < self.until - 5:
                kind = kinds[len(self.faults) % len(kinds)]
                self.faults.append(self.inject(kind))
                next_fault = time.time() + self.options.fault_every
            time.sleep(0.2)
        for worker in self.workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.timings["run"] = round(time.time() - started, 1)
        checked = time.time()
        report = self.report(time.time() - started)
        self.timings["check"] = round(time.time() - checked, 1)
        return {**report, "timings": self.timings}

    def inject(self, kind: str) -> dict:
        start = time.time()
        try:
            return fault_injectors.INJECTORS[kind](self)
        except Exception as error:  # the fault itself failed: a violation, not a crash
            return {"kind": kind, "start": start, "end": time.time(), "error": repr(error)}

    def report(self, elapsed: float) -> dict:
        from .checker import check  # imports models: only once Django is set up

        connections.close_all()  # a fault may have broken this process's connection

        recorded = calls(self.records)
        violations, unknown_happened = check(recorded, self.world, self.faults)
        for fault in self.faults:
            if "error" in fault:
                violations.append(
                    f"{fault['kind']} at {fault['start']:.0f} failed: {fault['error']}"
                )
            elif fault["kind"] == "redis_restart":
                violations += fault_injectors.probe_violations(fault)
        sealing = self.seal_the_rest()
        if sealing["unsealed_after"]:
            violations.append(f"{sealing['unsealed_after']} transaction(s) left unsealed")
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("reconcile", stdout=out, stderr=err)
        except CommandError as error:
            violations.append(f"manage.py reconcile: {error}\n{err.getvalue()[-4000:]}")
        http_calls = [call for call in recorded.values() if call.get("via") == "http"]
        attempts = [attempt for call in http_calls for attempt in call["attempts"]]
        statuses = Counter(a.get("status") for a in attempts if a.get("status"))
        answered = sum(statuses.values())
        calls_with_5xx = sum(
            1 for call in http_calls if any(a.get("status", 0) >= 500 for a in call["attempts"])
        )
        outcomes = Counter(f"{call.get('op')}:{call['outcome']}" for call in recorded.values())
        return {
            "seconds": round(elapsed, 1),
            "workers": self.options.workers,
            "workers_started": self.worker_count,
            "operations": len(recorded),
            "by_transport": dict(Counter(call.get("via") for call in recorded.values())),
            "outcomes": dict(sorted(outcomes.items())),
            "unanswered_calls": sum(1 for c in recorded.values() if c["outcome"] == "unknown"),
            "unanswered_that_happened": unknown_happened,
            "faults": dict(Counter(fault["kind"] for fault in self.faults)),
            "fault_log": self.faults,
            "http_calls": len(http_calls),
            "http_calls_answered_5xx_share": round(calls_with_5xx / max(len(http_calls), 1), 5),
            "http_answers": answered,
            "http_answers_5xx_share": round(
                sum(n for s, n in statuses.items() if s >= 500) / max(answered, 1), 5
            ),
            "http_500s": sum(n for s, n in statuses.items() if s >= 500 and s != 503),
            "http_503s": statuses.get(503, 0),
            # The timeout fault: tries given up (on purpose or not), then sent again with
            # the same key, and the answers that were replays of a first run.
            "http_attempts_without_answer": sum(1 for a in attempts if a.get("error")),
            "http_replayed_answers": sum(1 for call in http_calls if call.get("replayed")),
            "replays_compared_byte_for_byte": sum(
                1 for call in http_calls if call.get("replay_check") is not None
            ),
            # Logged by the app but answered to nobody (e.g. a client that gave up before
            # its body was read): not a violation, a figure worth watching.
            "app_logged_internal_errors": self._app_log_count("Internal Server Error"),
            "sealing": sealing,
            "task_points_payouts": self._task_points_payouts(),
            "violations": violations,
        }

    def seal_the_rest(self) -> dict:
        """Seal what the workers left, once the youngest transaction has settled (the
        sealer's own safety margin, `sealing.SETTLE`), so that reconcile proves the whole
        ledger; the seals there were before, and the transactions still unsealed after."""
        from django.db.models import Max
        from django.utils import timezone

        from escrow import sealing
        from escrow.models import EscrowTransaction, LedgerSeal

        before = LedgerSeal.objects.count()
        youngest = EscrowTransaction.objects.aggregate(at=Max("created_at"))["at"]
        if youngest is not None:
            time.sleep(max((youngest + sealing.SETTLE - timezone.now()).total_seconds(), 0))
        sealing.seal_ledger()
        return {
            "seals_by_workers": before,
            "seals": LedgerSeal.objects.count(),
            "unsealed_after": sealing.backlog()[0],
        }

    def _task_points_payouts(self) -> int:
        """Task-points proposals paid out while some of their tasks were done: the
        payouts the weighted rule decided."""
        from proposals.models import Proposal, Task

        return (
            Proposal.objects.filter(
                pool_split=Proposal.PoolSplit.TASK_POINTS,
                status__in=[Proposal.Status.COMPLETED, Proposal.Status.SETTLED],
                tasks__status=Task.Status.DONE,
            )
            .distinct()
            .count()
        )

    def _app_log_count(self, text: str) -> int:
        log = self.root / "app.log"
        return log.read_text(errors="replace").count(text) if log.exists() else 0


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    seconds, workers = os.environ.get("BANK_SECONDS", "300"), os.environ.get("BANK_WORKERS", "8")
    parser.add_argument("--seconds", type=float, default=float(seconds))
    parser.add_argument("--workers", type=int, default=int(workers))
    parser.add_argument(
        "--faults",
        default=",".join(fault_injectors.INJECTORS),
        help="comma-separated, injected in turn: " + ", ".join(fault_injectors.INJECTORS),
    )
    parser.add_argument("--fault-every", type=float, default=15)
    parser.add_argument(
        "--timeouts",
        type=float,
        default=0.1,
        help="share of keyed HTTP calls that time out on purpose, then retry with the same key",
    )
    parser.add_argument(
        "--seal-every",
        type=float,
        default=2,
        help="seconds between each worker's runs of seal_ledger (0: the workers never seal)",
    )
    parser.add_argument("--database-url", help="use this PostgreSQL server, not our own")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--port", type=int, default=APP_PORT)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--report", type=Path, help="also write the JSON report here")
    options = parser.parse_args(argv)
    options.faults = [kind for kind in options.faults.split(",") if kind]
    unknown = set(options.faults) - set(fault_injectors.INJECTORS)
    if unknown:
        parser.error(f"unknown faults: {sorted(unknown)}")
    if options.database_url and set(options.faults) & set(fault_injectors.OWN_SERVERS_ONLY):
        parser.error("restart faults need the run's own servers: drop --database-url")
    return options


def main(argv=None) -> int:
    options = parse(argv)
    bank = Bank(options)
    try:
        bank.start_servers()
        bank.make_world()
        bank.app.wait_ready()
        bank.timings["setup"] = round(time.time() - bank.created, 1)
        report = bank.run()
    finally:
        for worker in bank.workers:
            if worker.poll() is None:
                worker.kill()
        bank.stop_servers()
    if report["violations"]:
        report["artifacts"] = str(bank.root)  # records and server logs, for a look
    else:
        shutil.rmtree(bank.root, ignore_errors=True)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if options.report:
        options.report.write_text(text)
    return 1 if report["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
