"""The faults a bank run injects while the workers run. Each takes the run (`Bank`) and
returns a record `{kind, start, end, ...}`; the checker allows unreachable-database
answers only inside the database faults' windows.

- `sigkill`: a worker is SIGKILLed mid-operation and a fresh one takes its place;
- `pg_terminate`: for a few seconds, every backend of the bank's database that is inside
  a transaction is terminated (`pg_terminate_backend`);
- `pg_restart`: the run's own PostgreSQL cluster stops and starts again;
- `redis_restart`: the run's own Redis stops and starts again, while the realtime probe
  checks that money keeps working, that a socket gets live frames again afterwards,
  and that reconnecting with `last_message_id` delivers what was missed.

Clients retrying with the same Idempotency-Key after a timeout is no scheduled fault:
workers do it throughout (`worker.py`, `--timeouts`)."""

import asyncio
import json
import os
import signal
import time
import uuid

import psycopg
import requests
import websockets

from .recorder import ERROR, OK, REFUSED, UNAVAILABLE

HEADER = "Idempotency-Key"

DATABASE_FAULTS = ("pg_terminate", "pg_restart")
OWN_SERVERS_ONLY = ("pg_restart", "redis_restart")


def sigkill(bank) -> dict:
    start = time.time()
    victim = bank.rng.choice(bank.live_workers())
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    bank.start_worker()
    lines = victim.records.read_text().splitlines() if victim.records.exists() else []
    mid_call = bool(lines) and json.loads(lines[-1])["event"] != "end"
    return {
        "kind": "sigkill",
        "start": start,
        "end": time.time(),
        "pid": victim.pid,
        "mid_call": mid_call,
    }


def pg_terminate(bank, seconds: float = 3.0) -> dict:
    start = time.time()
    terminated = 0
    with psycopg.connect(bank.admin_url, autocommit=True) as admin:
        while time.time() < start + seconds:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
                [bank.database],
            ).fetchall()
            terminated += sum(1 for (done,) in rows if done)
            time.sleep(0.3)
    return {"kind": "pg_terminate", "start": start, "end": time.time(), "backends": terminated}


def pg_restart(bank, down_seconds: float = 3.0) -> dict:
    start = time.time()
    bank.cluster.stop()
    time.sleep(down_seconds)
    bank.cluster.start()
    return {"kind": "pg_restart", "start": start, "end": time.time()}


def redis_restart(bank, down_seconds: float = 3.0) -> dict:
    start = time.time()
    probe = RealtimeProbe(bank)
    results = asyncio.run(probe.run(bank.redis, down_seconds))
    return {"kind": "redis_restart", "start": start, "end": time.time(), "probe": results}


INJECTORS = {
    "sigkill": sigkill,
    "pg_terminate": pg_terminate,
    "pg_restart": pg_restart,
    "redis_restart": redis_restart,
}


class RealtimeProbe:
    """A buyer's socket on one of their conversations, across a Redis restart."""

    def __init__(self, bank):
        self.base_url = bank.app.base_url
        self.user, self.token, self.conversation_id = bank.probe_identity()
        self.headers = {"Authorization": f"Token {self.token}"}
        self.recorder = bank.probe_recorder

    def _post(self, path: str, body: dict, **headers) -> requests.Response:
        return requests.post(
            self.base_url + path, json=body, headers={**self.headers, **headers}, timeout=30
        )

    def _deposit(self) -> int:
        """A deposit, recorded like a worker's call so the checker counts its money."""
        call_id, key = f"probe-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        args = {"actor": self.user, "amount": "1.00"}
        self.recorder.write("begin", id=call_id, op="deposit", via="http", args=args, key=key)
        response = self._post("/api/wallet/deposit", {"amount": "1.00"}, **{HEADER: key})
        self.recorder.write("attempt", id=call_id, status=response.status_code)
        outcome = {201: OK, 503: UNAVAILABLE}.get(response.status_code)
        outcome = outcome or (ERROR if response.status_code >= 500 else REFUSED)
        self.recorder.write("end", id=call_id, outcome=outcome, status=response.status_code)
        return response.status_code

    def _message(self, body: str) -> tuple[int, int | None]:
        response = self._post(f"/api/conversations/{self.conversation_id}/messages", {"body": body})
        message_id = response.json().get("id") if response.status_code == 201 else None
        return response.status_code, message_id

    async def _socket(self, last_message_id: int | None = None, attempts: int = 10):
        """The buyer's socket on the conversation, and how many tries it took: like any
        client, the probe tries again when a handshake fails (a server process's first
        use of Redis after a restart may still meet a dropped connection)."""
        url = self.base_url.replace("http", "ws", 1) + f"/ws/conversations/{self.conversation_id}/"
        if last_message_id is not None:
            url += f"?last_message_id={last_message_id}"
        for attempt in range(1, attempts + 1):
            try:
                socket = await websockets.connect(
                    url, additional_headers=self.headers, open_timeout=10
                )
                return socket, attempt
            except (websockets.InvalidStatus, OSError, TimeoutError):
                if attempt == attempts:
                    raise
                await asyncio.sleep(0.5)

    @staticmethod
    async def _receive_messages(socket, wanted: set[int], timeout: float = 10) -> set[int]:
        """The ids among `wanted` that arrive as `message.created` frames in time."""
        seen: set[int] = set()
        deadline = time.monotonic() + timeout
        while wanted - seen and time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(socket.recv(), deadline - time.monotonic())
            except (TimeoutError, websockets.ConnectionClosed):
                break
            frame = json.loads(raw)
            if frame.get("type") == "message.created":
                seen.add(frame["message"]["id"])
        return seen & wanted

    async def run(self, redis_server, down_seconds: float) -> dict:
        results: dict = {}
        socket, results["handshakes_before"] = await self._socket()
        try:
            status, before = await asyncio.to_thread(self._message, "before the outage")
            results["live_before"] = status == 201 and bool(
                await self._receive_messages(socket, {before})
            )
        finally:
            await socket.close()
        # A socket that stays open through the outage: afterwards it must either get live
        # frames again or have been closed (so that its client reconnects and catches up),
        # never stay open and deaf.
        kept, _ = await self._socket()
        redis_server.stop()
        try:
            results["deposit_during_outage"] = await asyncio.to_thread(self._deposit)
            status, during = await asyncio.to_thread(self._message, "during the outage")
            results["message_during_outage"] = status
            await asyncio.sleep(down_seconds)
        finally:
            redis_server.start()
        missed = {during} if during else set()
        socket, results["handshakes_after"] = await self._socket(last_message_id=before)
        try:
            caught_up = await self._receive_messages(socket, missed)
            results["caught_up"] = caught_up == missed and bool(missed)
            status, after = await asyncio.to_thread(self._message, "after the outage")
            results["live_after"] = status == 201 and bool(
                await self._receive_messages(socket, {after})
            )
        finally:
            await socket.close()
        results["kept_socket"] = await self._kept_socket_state(kept, after)
        return results

    async def _kept_socket_state(self, socket, message_id: int | None) -> str:
        """ "received" the message posted after the outage, "closed" by the server, or
        "deaf": open, but the message never came."""
        try:
            if message_id and await self._receive_messages(socket, {message_id}):
                return "received"
            return "closed" if socket.close_code is not None else "deaf"
        finally:
            await socket.close()


def probe_violations(fault: dict) -> list[str]:
    """What a Redis restart's probe says went wrong."""
    probe = fault["probe"]
    expectations = {
        "live_before": (probe["live_before"], True),
        "deposit_during_outage": (probe["deposit_during_outage"], 201),
        "message_during_outage": (probe["message_during_outage"], 201),
        "caught_up": (probe["caught_up"], True),
        "live_after": (probe["live_after"], True),
    }
    problems = [
        f"Redis restart at {fault['start']:.0f}: {name} was {got!r}, expected {wanted!r}"
        for name, (got, wanted) in expectations.items()
        if got != wanted
    ]
    if probe["kept_socket"] == "deaf":
        problems.append(
            f"Redis restart at {fault['start']:.0f}: a socket kept open through the outage "
            "stayed open but got no live frames afterwards"
        )
    return problems
