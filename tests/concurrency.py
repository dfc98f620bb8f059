"""Real concurrency for the tests: calls released together in threads, each on its own
PostgreSQL connection, so row locks and constraints decide what happens."""

import threading

from django.db import connection


def run_together(*calls, timeout: float = 60) -> list:
    """Start every call at the same moment in its own thread; return each outcome (its
    result, or the exception it raised) in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=timeout)
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung: deadlock?"
    return outcomes
