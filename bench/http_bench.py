"""HTTP: the production-style server (uvicorn, 2 worker processes, DEBUG=0, PostgreSQL and
Redis) under locust in a separate process (`bench.load`), at each client count:
discovery (`GET /api/groups?search=`), a conversation's messages, accept, confirm, and
`GET /api/me` as the framework's ceiling (token check and one wallet read).

The buyers, groups (4 members) and conversations are built through the services first;
before each accept run the proposals are created pending, and between the accept and
the confirm run the accepted ones are started and delivered (neither timed). Whatever a
run left over is withdrawn or confirmed afterwards, untimed, so the ledger ends clean."""

import json
import math
import subprocess
import sys

from . import stack

READS = ("me", "discovery", "messages")
SEARCH = "group"
CHAT_MESSAGES = 30


def _load(plan_path, scenario: str, *, host: str, users: int, seconds: float) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "bench.load", str(plan_path), scenario,
         "--host", host, "--users", str(users), "--seconds", str(seconds)],
        cwd=stack.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"the load generator failed on {scenario}:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


class Market:
    """Buyers (one per client at the largest count), one leader's groups of four, and a
    conversation for every buyer and group."""

    def __init__(self, scale, run_id: str):
        from . import world

        self.buyers = [
            world.person(f"http-{run_id}-buyer{i}") for i in range(max(scale.http_clients))
        ]
        self.leader = world.person(f"http-{run_id}-leader")
        per_buyer = math.ceil(scale.http_money_requests / len(self.buyers))
        groups = world.groups_of(self.leader, tag=f"http-{run_id}", count=per_buyer)
        self.tokens = {buyer.pk: world.token(buyer) for buyer in self.buyers}
        levels = len(scale.http_clients)
        by_buyer = []
        for buyer in self.buyers:
            world.fund(buyer, world.PRICE * per_buyer * levels)
            by_buyer.append(world.conversations(buyer, groups))
            world.chat_history(by_buyer[-1][0], buyer, CHAT_MESSAGES)
        self.chats = [(buyer, row[0]) for buyer, row in zip(self.buyers, by_buyer, strict=True)]
        # Interleaved, so that any first n conversations spread over every buyer.
        self.conversations = [c for row in zip(*by_buyer, strict=True) for c in row]
        self.count = scale.http_money_requests

    def reads(self) -> dict[str, list]:
        keys = list(self.tokens.values())
        return {
            "me": [[key, "/api/me"] for key in keys],
            "discovery": [[key, f"/api/groups?search={SEARCH}"] for key in keys],
            "messages": [
                [self.tokens[buyer.pk], f"/api/conversations/{chat.pk}/messages"]
                for buyer, chat in self.chats
            ],
        }

    def money(self, proposals, action: str) -> list:
        buyer_of = {c.pk: c.product_owner_id for c in self.conversations}
        return [
            [self.tokens[buyer_of[p.conversation_id]], f"/api/proposals/{p.pk}/{action}"]
            for p in proposals
        ]


def measure(scale, *, database: str, run_id: str, logs, **_) -> dict:
    from proposals import services
    from proposals.models import Proposal

    from . import world

    market = Market(scale, run_id)
    plan_path = logs / "http-plan.json"
    figures: dict[str, dict] = {}
    with stack.uvicorn(database, workers=2, log=logs / "http-server.log") as host:

        def load(scenario: str, material: list, clients: int) -> dict:
            plan_path.write_text(json.dumps({scenario: material}))
            return _load(plan_path, scenario, host=host, users=clients, seconds=scale.http_seconds)

        for clients in scale.http_clients:
            row = figures.setdefault(str(clients), {})
            for scenario, material in market.reads().items():
                row[scenario] = load(scenario, material, clients)

            pending = [
                world.propose(c, market.leader) for c in market.conversations[: market.count]
            ]
            row["accept"] = load("accept", market.money(pending, "accept"), clients)
            ids = [p.pk for p in pending]
            for proposal in world.proposals_in(ids, Proposal.Status.PENDING):
                services.proposal_withdraw(proposal=proposal, actor=market.leader)
            accepted = world.proposals_in(ids, Proposal.Status.ACCEPTED)
            delivered = [world.deliver(p, market.leader) for p in accepted]
            row["confirm"] = load("confirm", market.money(delivered, "confirm"), clients)
            for proposal in world.proposals_in(ids, Proposal.Status.DELIVERED):
                buyer = proposal.conversation.product_owner
                services.proposal_confirm(proposal=proposal, actor=buyer)
    return figures
