"""The servers a bank run talks to, started and stopped by the run itself: a PostgreSQL
cluster and a Redis of its own on other ports (so the restart faults never touch the
machine's services), and the app under uvicorn."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis
import requests

BASE_DIR = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("BANK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _wait(what: str, ready, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} is not ready after {timeout:.0f}s")


class PostgresCluster:
    """A throwaway cluster in `root` on `port`, trusting local connections. initdb
    refuses to run as root, so the cluster runs as the `postgres` system user then."""

    def __init__(self, root: Path, port: int):
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = port
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # The cluster's user must reach its directory through the run's (mkdtemp: 0700).
        self.root.parent.chmod(0o755)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E",
            "UTF8", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 200\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            )

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-w", "start",
        )  # fmt: skip
        _wait("PostgreSQL", lambda: psycopg.connect(self.url("postgres"), connect_timeout=2))

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """redis-server on `port`, without persistence."""

    def __init__(self, root: Path, port: int):
        self.root = Path(root)
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--logfile",
             str(self.root / "redis.log")],
        )  # fmt: skip
        _wait("Redis", lambda: redis.Redis(port=self.port).ping())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class AppServer:
    """The app under uvicorn with production-like settings, logging to `log_path`."""

    def __init__(self, *, port: int, env: dict[str, str], log_path: Path, workers: int = 2):
        self.port = port
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "marketplace.asgi:application", "--host",
             "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
             "--log-level", "warning", "--no-access-log", "--ws-max-size", "65536"],
            env=self.env, cwd=BASE_DIR, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self) -> None:
        _wait("the app", lambda: requests.get(f"{self.base_url}/healthz", timeout=2).ok, 60)

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
