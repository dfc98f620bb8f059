"""Every call a worker makes, written before and after it runs: one JSON line per event
in the worker's own file, appended with one `write` each (no buffer in the process), so
a worker SIGKILLed mid-call leaves its `begin` without an `end`, and nothing half-written
that the kernel had already been handed.

Events: `begin` (the call: id, operation, transport, actor, arguments, idempotency key),
`attempt` (each try's status or error, for the 5xx share), `end` (the outcome)."""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

# The outcome of a call.
OK = "ok"  # 2xx, or the service returned
REFUSED = "refused"  # 4xx, or a DomainError: must leave no trace
UNAVAILABLE = "unavailable"  # 503, or the database was unreachable: must leave no trace
UNKNOWN = "unknown"  # no answer (a timeout, a killed worker): may or may not have happened
ERROR = "error"  # a 500 or an unexpected exception: a violation in itself


class Recorder:
    def __init__(self, path: Path):
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def write(self, event: str, **fields) -> None:
        line = json.dumps({"event": event, "ts": time.time(), **fields}, default=str)
        os.write(self._fd, (line + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


def read_events(directory: Path) -> Iterator[dict]:
    """Every event of every worker's file; a line cut short by a kill is skipped."""
    for path in sorted(Path(directory).glob("worker-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue


def calls(directory: Path) -> dict[str, dict]:
    """The calls by id: the `begin` fields (its `ts` as `started`), `attempts`, and the
    `end` fields (`ts` as `ended`; `outcome` UNKNOWN when the worker died first)."""
    found: dict[str, dict] = {}
    for event in read_events(directory):
        kind = event.pop("event")
        call = found.setdefault(event["id"], {"attempts": [], "outcome": UNKNOWN})
        if kind == "attempt":
            call["attempts"].append(event)
        else:
            event["started" if kind == "begin" else "ended"] = event.pop("ts")
            call.update(event)
    return found
