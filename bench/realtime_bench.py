"""Realtime: `ws_clients` websocket clients in one conversation, split over two server
processes (two uvicorn servers on their own ports, sharing PostgreSQL and Redis). Each
message is sent by one client (`message.send`) and timed until the last of all the
clients has its `message.created`: send-to-last-receiver latency. Its reference is a raw
Redis publish → subscriber round trip, timed the same way on the same Redis.

The senders take turns (client i sends message i), as a busy chat does, which also keeps
every user under the chat's per-minute limit. The clients all live in one asyncio
process, so their own decoding is part of the latency."""

import asyncio
import json
import statistics
import time

import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from . import stack

WARM_UP = 2
TIMEOUT = 15


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": statistics.median(samples_ms), "p99_ms": cuts[98], "samples": len(samples_ms)}


def _participants(count: int, run_id: str) -> tuple[int, list[str]]:
    """A conversation whose buyer and group (leader + count - 2 members) are `count`
    people; returns its id and one token per person."""
    from marketplace.core.services import conversation_open, group_create, group_member_add

    from . import world

    leader = world.person(f"rt-{run_id}-leader")
    group = group_create(leader=leader, name=f"rt-{run_id} group", description="Realtime.")
    people = [leader]
    for index in range(count - 2):
        member = world.person(f"rt-{run_id}-m{index}")
        group_member_add(group=group, actor=leader, user=member)
        people.append(member)
    buyer = world.person(f"rt-{run_id}-buyer")
    conversation, _ = conversation_open(buyer=buyer, group=group)
    people.append(buyer)
    return conversation.pk, [world.token(person) for person in people]


async def _chat_latencies(urls: list[str], conversation_id: int, tokens: list[str], messages: int):
    arrivals: dict[str, list[float]] = {}
    waiting_for: dict[str, asyncio.Event] = {}

    async def listen(socket):
        async for raw in socket:
            frame = json.loads(raw)
            if frame.get("type") != "message.created":
                continue
            body = frame["message"]["body"]
            times = arrivals.setdefault(body, [])
            times.append(time.monotonic())
            if len(times) == len(tokens) and body in waiting_for:
                waiting_for[body].set()

    sockets = []
    for index, key in enumerate(tokens):
        base = urls[index % len(urls)].replace("http://", "ws://")
        sockets.append(
            await connect(
                f"{base}/ws/conversations/{conversation_id}/",
                additional_headers={"Authorization": f"Token {key}"},
                max_queue=None,
            )
        )
    listeners = [asyncio.create_task(listen(socket)) for socket in sockets]
    latencies = []
    try:
        for number in range(WARM_UP + messages):
            body = f"bench message {number}"
            waiting_for[body] = asyncio.Event()
            sender = sockets[number % len(sockets)]
            started = time.monotonic()
            await sender.send(json.dumps({"type": "message.send", "body": body, "client_id": body}))
            await asyncio.wait_for(waiting_for[body].wait(), TIMEOUT)
            if number >= WARM_UP:
                latencies.append((max(arrivals[body]) - started) * 1000)
    finally:
        for listener in listeners:
            listener.cancel()
        for socket in sockets:
            await socket.close()
    return latencies


async def _redis_latencies(messages: int) -> list[float]:
    client = aioredis.Redis.from_url(stack.REDIS_URL)
    subscriber = client.pubsub()
    channel = "bench-realtime-reference"
    await subscriber.subscribe(channel)
    await subscriber.get_message(timeout=1)  # the subscribe confirmation
    latencies = []
    try:
        for number in range(WARM_UP + messages):
            started = time.monotonic()
            await client.publish(channel, str(number))
            while True:
                message = await subscriber.get_message(
                    ignore_subscribe_messages=True, timeout=TIMEOUT
                )
                if message is None:
                    raise RuntimeError("Redis did not deliver a published message")
                if message["data"] == str(number).encode():
                    break
            if number >= WARM_UP:
                latencies.append((time.monotonic() - started) * 1000)
    finally:
        await subscriber.aclose()
        await client.aclose()
    return latencies


def measure(scale, *, database: str, run_id: str, logs, **_) -> dict:
    conversation_id, tokens = _participants(scale.ws_clients, run_id)
    with (
        stack.uvicorn(database, log=logs / "realtime-server-a.log") as first,
        stack.uvicorn(database, log=logs / "realtime-server-b.log") as second,
    ):
        chat = asyncio.run(
            _chat_latencies([first, second], conversation_id, tokens, scale.ws_messages)
        )
    reference = asyncio.run(_redis_latencies(scale.ws_messages))
    return {"clients": len(tokens), "chat": percentiles(chat), "redis": percentiles(reference)}
