"""Real ASGI servers for end-to-end tests: `marketplace.asgi:application` under uvicorn
in subprocesses on loopback, against the test database and the real Redis."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager

from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(**overrides) -> dict[str, str]:
    """The environment of a server process that shares this test run's database (the
    test database, so the test's committed rows are visible) and Redis."""
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "0",
        "SECRET_KEY": "live-test-secret-key",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PAYMENTS_SANDBOX": "1",
    }
    env.update(overrides)
    return env


@contextmanager
def asgi_servers(count: int = 1, **env_overrides):
    """Start `count` uvicorn processes; yield their base URLs; stop them afterwards."""
    processes, urls = [], []
    try:
        for _ in range(count):
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "marketplace.asgi:application",
                     "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    env=server_environment(**env_overrides),
                    cwd=settings.BASE_DIR,
                )
            )  # fmt: skip
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_until_healthy(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server for {url} did not become healthy in {timeout}s")
