"""`make bench` / `python -m bench`: the whole benchmark, or some sections of it.

    python -m bench                        # every section, full size (~10 minutes)
    python -m bench --quick                # smaller pass (also BENCH_QUICK=1)
    python -m bench --only services,http   # some sections (services, http, realtime, data)

It makes its own databases (`bench_app`, `bench_data`, `bench_pgbench`, dropped and made
again on every run), migrates them, collects the static files for the DEBUG=0 server,
measures pgbench as the reference of the services and the HTTP money endpoints, runs
each section in a process of its own, and prints the table (bench/README.md says how to
read it). It ends with `manage.py reconcile` on every database it wrote money to and
exits non-zero if a ledger is not clean or a section failed; targets missed are
reported in the table, not in the exit code. Logs and the raw figures (JSON) go to
`artifacts/bench-<time>/`."""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import pgbench, report, stack
from .config import FULL, QUICK, SCALES

SECTIONS = ("services", "http", "realtime", "data")
# The sections that write to the app's database, and the data section's own.
APP, DATA = stack.database_name("app"), stack.database_name("data")


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the smaller pass (BENCH_QUICK=1)")
    parser.add_argument("--scale", choices=sorted(SCALES), help="a named size (overrides --quick)")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections of {', '.join(SECTIONS)}",
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown or not only:
        parser.error(f"--only takes sections among {', '.join(SECTIONS)}; got {args.only!r}")
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    scale = SCALES[args.scale] if args.scale else (QUICK if quick else FULL)
    return scale, [name for name in SECTIONS if name in only]


def _prepare_databases(sections: list[str], logs: Path) -> None:
    with open(logs / "setup.log", "ab") as log:
        stack.recreate_database(APP)
        stack.manage(APP, "migrate", "--noinput", log=log)
        if "data" in sections:
            stack.recreate_database(DATA, template=APP)
        if stack.static_files_stale():
            stack.manage(APP, "collectstatic", "--noinput", log=log)


def _section(name: str, scale, database: str, run_id: str, logs: Path) -> dict:
    out = logs / f"{name}.json"
    with open(logs / f"{name}.log", "ab") as log:
        subprocess.run(
            [sys.executable, "-m", "bench.section", name, "--scale", scale.name,
             "--database", database, "--run-id", run_id, "--logs", str(logs), "--out", str(out)],
            cwd=stack.ROOT,
            env=stack.builder_environment(database),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )  # fmt: skip
    return json.loads(out.read_text())


def _reconcile(database: str, logs: Path) -> bool:
    run = subprocess.run(
        [sys.executable, "manage.py", "reconcile"],
        cwd=stack.ROOT,
        env=stack.app_environment(database),
        capture_output=True,
        text=True,
    )
    (logs / f"reconcile-{database}.log").write_text(run.stdout + run.stderr)
    verdict = (run.stdout if run.returncode == 0 else run.stderr).strip().splitlines()
    print(f"bench: reconcile {database}: {verdict[-1] if verdict else run.returncode}")
    return run.returncode == 0


def main(argv=None) -> int:
    scale, sections = _arguments(argv)
    run_id = time.strftime("%Y%m%d-%H%M%S")
    logs = stack.ROOT / "artifacts" / f"bench-{run_id}"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"bench: {scale.name} pass of {', '.join(sections)}; logs in {logs}", flush=True)

    _prepare_databases(sections, logs)
    figures: dict = {"scale": scale.name, "sections": sections}
    if {"services", "http"} & set(sections):
        counts = tuple(sorted(set(scale.service_clients) | set(scale.http_clients)))
        print(f"bench: pgbench at {counts} clients", flush=True)
        figures["pgbench"] = pgbench.measure(scale, counts)
    failed = []
    for name in sections:
        print(f"bench: {name} …", flush=True)
        section_started = time.monotonic()
        try:
            figures[name] = _section(name, scale, DATA if name == "data" else APP, run_id, logs)
        except subprocess.CalledProcessError:
            failed.append(name)
            print(f"bench: {name} FAILED, see {logs / (name + '.log')}", flush=True)
        print(f"bench: {name} took {time.monotonic() - section_started:.0f} s", flush=True)

    written = [APP] + ([DATA] if "data" in sections else [])
    clean = {database: _reconcile(database, logs) for database in written}
    (logs / "figures.json").write_text(json.dumps(figures, indent=2))

    rows = []
    builders = {
        "services": lambda f: report.services_rows(f, figures["pgbench"]),
        "http": lambda f: report.http_rows(f, figures["pgbench"]),
        "realtime": report.realtime_rows,
        "data": report.data_rows,
    }
    for name in sections:
        if name in figures:
            rows += builders[name](figures[name])
        else:
            rows.append(report.Row(name, "the section failed", f"see {name}.log", ok=False))
    rows.append(report.reconcile_row(clean))
    print()
    print(report.table(rows))
    print(f"\nbench: {time.monotonic() - started:.0f} s in all; figures in {logs / 'figures.json'}")
    if failed:
        print(f"bench: sections that failed: {', '.join(failed)}", file=sys.stderr)
    if not all(clean.values()):
        print("bench: THE LEDGER IS NOT CLEAN (see the reconcile logs)", file=sys.stderr)
    return 1 if failed or not all(clean.values()) else 0
