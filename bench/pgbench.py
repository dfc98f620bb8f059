"""The reference for the services and the HTTP money endpoints: pgbench's built-in
TPC-B-like script on the same PostgreSQL server, in its own database, at the same
client counts."""

import re
import shutil
import subprocess
from urllib.parse import urlsplit

from . import stack

_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


def _connection_args() -> list[str]:
    server = urlsplit(stack.SERVER)
    args = ["-h", server.hostname or "127.0.0.1", "-p", str(server.port or 5432)]
    return [*args, "-U", server.username] if server.username else args


def _pgbench() -> str:
    return shutil.which("pgbench") or "/usr/bin/pgbench"


def initialise(scale: int) -> None:
    """A fresh database initialised with `pgbench -i` (scale ≥ the largest client count
    keeps its branches from being one hot row)."""
    name = stack.database_name("pgbench")
    stack.recreate_database(name)
    subprocess.run(
        [_pgbench(), *_connection_args(), "-i", "-q", "-s", str(scale), name],
        check=True,
        capture_output=True,
    )


def tps(clients: int, seconds: int) -> float:
    name = stack.database_name("pgbench")
    run = subprocess.run(
        [_pgbench(), *_connection_args(), "-n", "-c", str(clients), "-j", str(clients),
         "-T", str(seconds), name],
        check=True,
        capture_output=True,
        text=True,
    )  # fmt: skip
    match = _TPS.search(run.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{run.stdout}\n{run.stderr}")
    return float(match.group(1))


def measure(scale, clients: tuple[int, ...]) -> dict[str, float]:
    initialise(scale.pgbench_scale)
    return {str(count): tps(count, scale.pgbench_seconds) for count in clients}
