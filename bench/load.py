"""The HTTP load generator: locust, headless, used as a library in a process of its own
(gevent patches everything it imports, so nothing of Django lives here).

    python -m bench.load PLAN.json SCENARIO --host URL --users N --seconds S

The plan (written by `bench.http_bench`) holds, per scenario, the requests' material:
for the reads, `[token, path]` pairs that the users take round-robin; for `accept` and
`confirm`, one `[token, path]` per proposal, each sent once. A money run ends when its
proposals are used up or the time is over, whichever comes first. Prints one JSON
object: requests, failures, requests/s, p50 and p99 in milliseconds."""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.exception import StopUser  # noqa: E402

MONEY = {"accept", "confirm"}
STOP_TIMEOUT = 60


def user_class(scenario: str, material: list, host: str) -> type[FastHttpUser]:
    once = scenario in MONEY
    supply = iter(material) if once else itertools.cycle(material)

    class Client(FastHttpUser):
        wait_time = constant(0)

        @task
        def request(self):
            item = next(supply, None)
            if item is None:
                raise StopUser()
            key, path = item
            headers = {"Authorization": f"Token {key}"}
            if once:
                headers["Idempotency-Key"] = uuid.uuid4().hex
                self.client.post(path, headers=headers, name=scenario)
            else:
                self.client.get(path, headers=headers, name=scenario)

    Client.host = host
    return Client


def run(scenario: str, material: list, *, host: str, users: int, seconds: float) -> dict:
    # Users stop after the request in flight, so a money run leaves nothing half-sent
    # that the server would still be committing after this process reported.
    environment = Environment(
        user_classes=[user_class(scenario, material, host)], stop_timeout=STOP_TIMEOUT
    )
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users * 100)
    deadline = time.monotonic() + seconds
    gevent.sleep(0.2)
    while time.monotonic() < deadline and runner.user_count > 0:
        gevent.sleep(0.05)
    runner.quit()
    total = environment.stats.total
    errors = [
        f"{error.method} {error.name}: {error.error}" for error in environment.stats.errors.values()
    ]
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": total.total_rps,
        "p50_ms": total.get_response_time_percentile(0.5),
        "p99_ms": total.get_response_time_percentile(0.99),
        "errors": errors[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("plan", type=Path)
    parser.add_argument("scenario")
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    material = json.loads(args.plan.read_text())[args.scenario]
    outcome = run(args.scenario, material, host=args.host, users=args.users, seconds=args.seconds)
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
