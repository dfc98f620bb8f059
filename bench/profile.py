"""Where one accept and one confirm spend their time: the queries each sends (count, and
the statements by table) and cProfile's heaviest functions.

    python -m bench.profile            # against bench_app (made again and migrated first)
"""

import cProfile
import io
import os
import pstats
import re
from collections import Counter

from . import boot, stack

TOP = 20
_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def _statement_kinds(queries: list[dict]) -> Counter:
    kinds = Counter()
    for query in queries:
        sql = query["sql"].lstrip()
        verb = sql.split(None, 1)[0].upper()
        if verb == "SELECT" and "FOR UPDATE" in sql:
            verb = "SELECT … FOR UPDATE" + (" (share)" if "FOR SHARE" in sql else "")
        elif "FOR SHARE" in sql:
            verb = "SELECT … FOR SHARE"
        table = _TABLE.search(sql)
        kinds[f"{verb} {table.group(1) if table else ''}".strip()] += 1
    return kinds


def profiled(label: str, call):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as captured:
        profiler.enable()
        result = call()
        profiler.disable()
    print(f"\n=== {label}: {len(captured.captured_queries)} queries")
    for kind, count in _statement_kinds(captured.captured_queries).most_common():
        print(f"  {count:3d}  {kind}")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(TOP)
    print(text.getvalue())
    return result


def main() -> None:
    database = stack.database_name("app")
    stack.recreate_database(database)
    stack.manage(database, "migrate", "--noinput")
    os.environ.update(stack.builder_environment(database))
    boot.django()
    from proposals import services

    from . import world

    tag = f"profile-{os.getpid()}"
    buyer, leader = world.person(f"{tag}-buyer"), world.person(f"{tag}-leader")
    world.fund(buyer, world.PRICE * 2)
    warm, timed = world.conversations(buyer, world.groups_of(leader, tag=tag, count=2))
    # One untimed round first, so that imports and caches do not count.
    first = world.deliver(
        services.proposal_accept(proposal=world.propose(warm, leader), actor=buyer), leader
    )
    services.proposal_confirm(proposal=first, actor=buyer)

    proposal = world.propose(timed, leader)
    proposal = profiled(
        "proposal_accept", lambda: services.proposal_accept(proposal=proposal, actor=buyer)
    )
    proposal = world.deliver(proposal, leader)
    profiled(
        "proposal_confirm (4 members)",
        lambda: services.proposal_confirm(proposal=proposal, actor=buyer),
    )


if __name__ == "__main__":
    main()
