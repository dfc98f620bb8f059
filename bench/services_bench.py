"""Services: accepts/s and confirms/s through `proposal_accept` and `proposal_confirm`
(4-member split) at 1, 4 and 8 concurrent processes on PostgreSQL.

Each worker process has its own buyer, leader, members and groups (one conversation
per group), so the only rows they share are the ones the platform itself shares. A
worker builds its pending proposals, all workers start accepting at one barrier, then
(untimed) start and deliver them, and all confirm from a second barrier. The rate is
the operations of every worker over the time from the barrier to the last one done."""

import multiprocessing
import queue
import time

from . import boot

BARRIER_TIMEOUT = 600


def _worker(tag: str, count: int, levels: int, barriers: dict, commands, results) -> None:
    """Builds its people and groups once, then runs one accept and one confirm round of
    `count` proposals for every client count it is sent, until it is sent None."""
    boot.django()
    from django.db import connection

    from proposals import services

    from . import world

    buyer, leader = world.person(f"{tag}-buyer"), world.person(f"{tag}-leader")
    world.fund(buyer, world.PRICE * count * levels)
    conversations = world.conversations(buyer, world.groups_of(leader, tag=tag, count=count))
    results.put(None)
    for clients in iter(commands.get, None):
        barrier = barriers[clients]
        pending = [world.propose(conversation, leader) for conversation in conversations]

        barrier.wait(BARRIER_TIMEOUT)
        started = time.monotonic()
        accepted = [services.proposal_accept(proposal=p, actor=buyer) for p in pending]
        accept = (started, time.monotonic())

        delivered = [world.deliver(proposal, leader) for proposal in accepted]
        barrier.wait(BARRIER_TIMEOUT)
        started = time.monotonic()
        for proposal in delivered:
            services.proposal_confirm(proposal=proposal, actor=buyer)
        results.put({"accept": accept, "confirm": (started, time.monotonic())})
    connection.close()


def _rate(spans: list[tuple[float, float]], operations: int) -> float:
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return operations / elapsed


def _collect(results, count: int, workers) -> list:
    """`count` results, or an error as soon as a worker has died (it would never send)."""
    collected, deadline = [], time.monotonic() + BARRIER_TIMEOUT
    while len(collected) < count:
        try:
            collected.append(results.get(timeout=1))
        except queue.Empty:
            dead = [worker.exitcode for worker in workers if worker.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"services workers failed (exit codes {dead})") from None
    return collected


def measure_levels(levels: tuple[int, ...], count: int, *, run_id: str) -> dict[str, dict]:
    """Accepts/s and confirms/s at each client count: that many of the worker processes
    (started once, the largest count of them) run `count` proposals each."""
    context = multiprocessing.get_context("spawn")
    barriers = {clients: context.Barrier(clients) for clients in levels}
    results = context.Queue()
    commands = [context.Queue() for _ in range(max(levels))]
    workers = [
        context.Process(
            target=_worker,
            args=(f"svc-{run_id}-w{i}", count, len(levels), barriers, command, results),
        )
        for i, command in enumerate(commands)
    ]
    for worker in workers:
        worker.start()
    try:
        _collect(results, len(workers), workers)  # every worker is ready
        figures = {}
        for clients in levels:
            for command in commands[:clients]:
                command.put(clients)
            outcomes = _collect(results, clients, workers)
            total = clients * count
            figures[str(clients)] = {
                operation: _rate([outcome[operation] for outcome in outcomes], total)
                for operation in ("accept", "confirm")
            }
    except BaseException:
        for barrier in barriers.values():
            barrier.abort()  # the workers waiting for a dead one give up at once
        raise
    finally:
        for command in commands:
            command.put(None)
        for worker in workers:
            worker.join(timeout=60)
    return figures


def measure(scale, *, run_id: str, **_) -> dict:
    return measure_levels(scale.service_clients, scale.service_ops_per_worker, run_id=run_id)
