"""Data scale: the discovery pages and API (list and search), the wallet page, the
transactions API and the CSV statement (time to first byte and total), each the median
of `data_repeats` requests from one client after one warm-up, on a small database and
again after growing it 100x (`bench.seed`), served by the production-style server
(uvicorn, 2 workers). The timed user is `heavy`, who holds a tenth of the ledger rows."""

import http.client
import statistics
import time
from urllib.parse import urlsplit

from . import seed, stack, world

TIMED = {
    "discovery page": ("/groups/", "session"),
    "discovery page search": (f"/groups/?q={seed.SEARCH}", "session"),
    "discovery API": ("/api/groups", "token"),
    "discovery API search": (f"/api/groups?search={seed.SEARCH}", "token"),
    "wallet page": ("/wallet/", "session"),
    "transactions API": ("/api/wallet/transactions", "token"),
    "statement CSV": ("/api/wallet/statement.csv", "token"),
}


def timed_get(base: str, path: str, headers: dict) -> tuple[float, float]:
    """(seconds to the first byte of the body, seconds to the last) of one GET."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=300)
    try:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read(1)
        first_byte = time.perf_counter() - started
        response.read()
        total = time.perf_counter() - started
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return first_byte, total


def _measure_all(base: str, credentials: dict, repeats: int) -> dict:
    figures = {}
    for name, (path, kind) in TIMED.items():
        headers = credentials[kind]
        timed_get(base, path, headers)  # warm-up
        runs = [timed_get(base, path, headers) for _ in range(repeats)]
        figures[name] = {
            "first_byte_s": statistics.median(first for first, _ in runs),
            "total_s": statistics.median(total for _, total in runs),
        }
    return figures


def measure(scale, *, database: str, logs, **_) -> dict:
    sizes = {"small": scale.data_small, "large": scale.data_large}
    heavy = world.person("heavy")
    credentials = {
        "token": {"Authorization": f"Token {world.token(heavy)}"},
        "session": {"Cookie": f"sessionid={world.session_cookie(heavy)}"},
    }
    figures = {}
    with stack.uvicorn(database, workers=2, log=logs / "data-server.log") as base:
        for size, (groups, rows) in sizes.items():
            started = time.perf_counter()
            seed.grow_to(groups=groups, rows=rows)
            seed.analyze()
            figures[size] = {
                "groups": groups,
                "rows": rows,
                "seed_s": time.perf_counter() - started,
                "timings": _measure_all(base, credentials, scale.data_repeats),
            }
    return figures
