"""One bank worker: `python -m tests.bank.worker ...`, a process of its own with
`django.setup()`. Until its deadline it picks a random operation, runs it through the
services or the HTTP API, and records the call before and after (`recorder`). Every
`--seal-every` seconds it also seals the ledger (`operations.SEAL`, through the service),
as the deployed worker loop does, so that several sealers race each other and the money.

Retries, as a careful client makes them: a money call that got no answer or a 503 is
sent again with the same idempotency key (the HTTP `Idempotency-Key`; the services'
`idempotency_key` for deposits and withdrawals), and some keyed HTTP calls give up after
a few milliseconds on purpose before retrying (the timeout fault). Now and then a
successful keyed call is sent once more to check that the replay is byte for byte the
first answer."""

import argparse
import os
import time
import uuid
from random import Random

import django
import requests
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)

from marketplace.core.errors import DomainError

from .recorder import ERROR, OK, REFUSED, UNAVAILABLE, UNKNOWN, Recorder

ATTEMPTS = 8
REPLAY_CHECK_SHARE = 0.05
SERVICE_RETRIED = {"deposit", "withdraw"}  # the services that take the caller's key


def _backoff(attempt: int) -> float:
    return min(0.2 * 2**attempt, 3.0)


def call_service(operation, args: dict, key: str, record_attempt) -> tuple[str, dict]:
    """Run `operation` through the services in this process: its outcome and the fields
    to record. An unreachable database is retried with the same key where the service
    takes the caller's key (`record_attempt(error)` notes each failed try)."""
    attempts = ATTEMPTS if operation.name in SERVICE_RETRIED else 1
    for attempt in range(attempts):
        try:
            return OK, {"data": operation.service(args, key)}
        except DomainError as error:
            return REFUSED, {"code": error.code}
        except (OperationalError, InterfaceError) as error:
            record_attempt(error)
            connection.close()
            time.sleep(_backoff(attempt))
        except DatabaseError as error:  # an integrity error, a deadlock...: a bug
            connection.close()
            return ERROR, {"error": f"{type(error).__name__}: {error}"}
        except Exception as error:
            return ERROR, {"error": f"{type(error).__name__}: {error}"}
    return UNAVAILABLE, {}


class Worker:
    def __init__(self, options):
        from .operations import OPERATIONS, SEAL  # models: only once Django is set up
        from .world import World

        self.options = options
        self.rng = Random(options.seed)
        self.world = World.load(options.world)
        self.operations = list(OPERATIONS.values())
        self.seal = SEAL
        self.next_seal = time.time() + options.seal_every
        self.weights = [operation.weight for operation in self.operations]
        self.recorder = Recorder(options.records / f"worker-{options.index}.jsonl")
        self.session = requests.Session()
        self.count = 0

    def run(self) -> None:
        while time.time() < self.options.until:
            close_old_connections()
            if self.options.seal_every and time.time() >= self.next_seal:
                self.next_seal = time.time() + self.options.seal_every
                self._call(self.seal, {}, "service")
                continue
            operation = self.rng.choices(self.operations, self.weights)[0]
            try:
                args = operation.pick(self.rng, self.world)
            except DatabaseError:  # the database is away: try again shortly
                connection.close()
                time.sleep(0.3)
                continue
            if args is None:
                continue
            via = "http" if self.rng.random() < self.options.http_share else "service"
            self._call(operation, args, via)

    def _call(self, operation, args: dict, via: str) -> None:
        self.count += 1
        call_id = f"{self.options.index}-{self.count}"
        key = uuid.uuid4().hex
        self.recorder.write("begin", id=call_id, op=operation.name, via=via, args=args, key=key)
        run = self._via_http if via == "http" else self._via_service
        outcome, fields = run(operation, args, key, call_id)
        self.recorder.write("end", id=call_id, outcome=outcome, **fields)

    # --- the services ------------------------------------------------------------------

    def _via_service(self, operation, args, key, call_id):
        def record_attempt(error):
            self.recorder.write("attempt", id=call_id, error=type(error).__name__)

        return call_service(operation, args, key, record_attempt)

    # --- the HTTP API ------------------------------------------------------------------

    def _via_http(self, operation, args, key, call_id):
        path, body = operation.request(args)
        url = self.options.base_url + path
        headers = {"Authorization": f"Token {self.world.tokens[str(args['actor'])]}"}
        if operation.keyed:
            headers["Idempotency-Key"] = key
        timed_out = False
        for attempt in range(ATTEMPTS if operation.keyed else 1):
            short = attempt == 0 and operation.keyed and self.rng.random() < self.options.timeouts
            timeout = self.rng.uniform(0.002, 0.05) if short else 30
            try:
                response = self.session.request(
                    operation.method, url, json=body, headers=headers, timeout=timeout
                )
            except requests.RequestException as error:
                timed_out = True
                self.recorder.write("attempt", id=call_id, error=type(error).__name__)
                time.sleep(_backoff(attempt) if not short else 0)
                continue
            self.recorder.write("attempt", id=call_id, status=response.status_code)
            if response.status_code == 503:
                time.sleep(_backoff(attempt))
                continue
            return self._http_outcome(response, url, body, headers)
        return (UNKNOWN if timed_out else UNAVAILABLE), {}

    def _http_outcome(self, response, url, body, headers):
        fields = {"status": response.status_code}
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 500:
            return ERROR, {**fields, "error": response.text[:500]}
        if response.status_code >= 400:
            code = (payload or {}).get("error", {}).get("code") if payload else None
            return REFUSED, {**fields, "code": code}
        data = {"id": payload.get("id"), "status": payload.get("status")} if payload else {}
        fields["replayed"] = response.headers.get("Idempotent-Replayed") == "true"
        if "Idempotency-Key" in headers and self.rng.random() < REPLAY_CHECK_SHARE:
            fields.update(self._replay_matches(response, url, body, headers))
        return OK, {**fields, "data": data}

    def _replay_matches(self, first, url, body, headers) -> dict:
        """The same call again under the same key must answer the first answer, byte for
        byte, marked as a replay. Sent like any retry (again on a 503 or no answer);
        `replay_check` is None when no answer came at all."""
        for attempt in range(ATTEMPTS):
            try:
                again = self.session.post(url, json=body, headers=headers, timeout=30)
            except requests.RequestException:
                time.sleep(_backoff(attempt))
                continue
            if again.status_code == 503:
                time.sleep(_backoff(attempt))
                continue
            matches = (
                again.status_code == first.status_code
                and again.content == first.content
                and again.headers.get("Idempotent-Replayed") == "true"
            )
            if matches:
                return {"replay_check": True}
            return {
                "replay_check": False,
                "replay": {"status": again.status_code, "body": again.text[:2000]},
                "first_body": first.text[:2000],
            }
        return {"replay_check": None}


def main() -> None:
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--http-share", type=float, default=0.5)
    parser.add_argument("--timeouts", type=float, default=0.1)
    parser.add_argument("--seal-every", type=float, default=0, help="seconds; 0: never")
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    django.setup()
    Worker(options).run()


if __name__ == "__main__":
    main()
