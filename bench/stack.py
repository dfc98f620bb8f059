"""What the benchmark runs against, all on loopback: its own PostgreSQL databases, a Redis
database number, and uvicorn serving `marketplace.asgi:application` with the production
settings (DEBUG=0)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")
# Set by the smoke test only: its servers run with DEBUG on, which serves the static
# files without the minutes of `collectstatic`.
SERVER_OVERRIDES: dict[str, str] = {}


def database_name(role: str) -> str:
    """`app` (services, HTTP, realtime), `data` (data scale), `pgbench`."""
    return f"{PREFIX}{role}"


def database_url(name: str) -> str:
    return f"{SERVER}/{name}"


def app_environment(database: str, **overrides) -> dict[str, str]:
    """The environment of the production-style app: DEBUG off, PostgreSQL and Redis, plain
    HTTP on loopback (no TLS redirect). No sandbox payments unless asked for."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": database_url(database),
        "REDIS_URL": REDIS_URL,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-use-0123456789",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PAYMENTS_SANDBOX", None)
    env.update(overrides)
    return env


def builder_environment(database: str) -> dict[str, str]:
    """The environment of the processes that build the data through the services: the
    app's, with the sandbox payment provider so that buyers can deposit."""
    return app_environment(database, PAYMENTS_SANDBOX="1")


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def recreate_database(name: str, *, template: str | None = None) -> None:
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        clause = f' TEMPLATE "{template}"' if template else ""
        connection.execute(f'CREATE DATABASE "{name}"{clause}')


def drop_database(name: str) -> None:
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database: str, *args: str, log=None) -> subprocess.CompletedProcess:
    """`manage.py <args>` against `database`; raises when it fails."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=builder_environment(database),
        check=True,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
    )


def static_files_stale() -> bool:
    """Whether `collectstatic` must run for the DEBUG=0 server (its compression takes
    minutes on 2 cores): no manifest yet, or one older than the project's static files
    or its installed packages (pyproject.toml, constraints.txt)."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    if not manifest.exists():
        return True
    sources = [ROOT / "pyproject.toml", ROOT / "constraints.txt", *(ROOT / "static").rglob("*")]
    built = manifest.stat().st_mtime
    return any(source.stat().st_mtime > built for source in sources if source.is_file())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def uvicorn(database: str, *, workers: int = 1, log: Path, **env):
    """One uvicorn server (`workers` processes on one port); yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "marketplace.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--lifespan", "off",
        "--ws-max-size", "65536",
    ]  # fmt: skip
    with open(log, "ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=app_environment(database, **SERVER_OVERRIDES, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server for {url} did not become healthy in {timeout}s: see {log}")
