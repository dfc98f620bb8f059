"""How big each section runs: the full pass of `make bench`, the quick one
(`BENCH_QUICK=1` or `--quick`), and the tiny one the smoke test uses."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # Services: proposals each worker process accepts, then confirms, per client count.
    service_ops_per_worker: int
    service_clients: tuple[int, ...]
    pgbench_seconds: int
    pgbench_scale: int
    # HTTP: seconds per endpoint and client count, and the proposals ready for each
    # accept (then confirm) run; a run also ends when its proposals are used up.
    http_seconds: float
    http_money_requests: int
    http_clients: tuple[int, ...]
    # Realtime: sockets in the conversation, messages timed.
    ws_clients: int
    ws_messages: int
    # Data scale: (groups, ledger rows) of the small and the large database.
    data_small: tuple[int, int]
    data_large: tuple[int, int]
    data_repeats: int


FULL = Scale(
    name="full",
    service_ops_per_worker=40,
    service_clients=(1, 4, 8),
    pgbench_seconds=10,
    pgbench_scale=8,
    http_seconds=8,
    http_money_requests=240,
    http_clients=(8, 16),
    ws_clients=200,
    ws_messages=100,
    data_small=(1_000, 10_000),
    data_large=(100_000, 1_000_000),
    data_repeats=7,
)

QUICK = Scale(
    name="quick",
    service_ops_per_worker=20,
    service_clients=(1, 4, 8),
    pgbench_seconds=3,
    pgbench_scale=8,
    http_seconds=3,
    http_money_requests=120,
    http_clients=(8,),
    ws_clients=200,
    ws_messages=30,
    data_small=(1_000, 10_000),
    data_large=(10_000, 100_000),
    data_repeats=3,
)

TINY = Scale(
    name="tiny",
    service_ops_per_worker=3,
    service_clients=(1, 2),
    pgbench_seconds=1,
    pgbench_scale=1,
    http_seconds=1,
    http_money_requests=6,
    http_clients=(2,),
    ws_clients=4,
    ws_messages=3,
    data_small=(20, 200),
    data_large=(40, 400),
    data_repeats=1,
)

SCALES = {scale.name: scale for scale in (FULL, QUICK, TINY)}
