"""The operations of the bank's random mix. Each one picks its target from the database
as it is now (a stale pick is fine: the call is then refused, which the checker wants to
see leave no trace), and can run either through the services, in the worker's process,
or through the HTTP API.

`pick` returns the call's arguments (always with `actor`, a user id) or None when
nothing fits right now. `service` runs it and returns what the checker needs (e.g. the
new proposal's id); `request` gives the HTTP path and JSON body, sent with `method`.
`keyed`: the API endpoint takes an `Idempotency-Key` (the money-moving POSTs).

Proposals share their pool equally or by the done tasks' points; tasks worth points are
added to accepted and in-progress proposals and some are finished before the delivery.
`SEAL` is no part of the mix: each worker runs it every few seconds, as the deployed
worker loop does."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from random import Random

from django.contrib.auth import get_user_model
from django.db.models import F
from djmoney.money import Money

from disputes.models import Dispute
from disputes.services import dispute_open, dispute_resolve
from escrow.models import Wallet
from escrow.sealing import seal_ledger
from escrow.services import wallet_deposit, wallet_withdraw
from marketplace.core.models import Conversation, Group, GroupMembership
from marketplace.core.services import group_leadership_transfer, group_leave, group_member_add
from proposals import services as proposals
from proposals.models import Proposal, Task

from .world import World

User = get_user_model()
Status = Proposal.Status


@dataclass(frozen=True)
class Operation:
    name: str
    weight: int
    pick: Callable[[Random, World], dict | None]
    service: Callable[[dict, str], dict]
    request: Callable[[dict], tuple[str, dict | None]] | None
    keyed: bool = False
    method: str = "POST"


def _amount(rng: Random, low: int, high: int) -> Decimal:
    """A random amount in [low, high] with random cents."""
    return Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)


def _money(value) -> Money:
    return Money(Decimal(value), "USD")


def _user(pk: int):
    return User.objects.get(pk=pk)


def _random_proposal(*statuses: str) -> Proposal | None:
    return (
        Proposal.objects.filter(status__in=statuses, is_legacy=False)
        .select_related("conversation__group")
        .order_by("?")
        .first()
    )


def _proposal_pick(statuses, role: str):
    """Pick a proposal in one of `statuses`, acted on by its buyer or its group's leader
    (now and then by the other one: 403, no trace)."""

    def pick(rng: Random, world: World) -> dict | None:
        proposal = _random_proposal(*statuses)
        if proposal is None:
            return None
        conversation = proposal.conversation
        parties = {"buyer": conversation.product_owner_id, "leader": conversation.group.leader_id}
        other = "leader" if role == "buyer" else "buyer"
        return {
            "actor": parties[other if rng.random() < 0.05 else role],
            "proposal_id": proposal.pk,
        }

    return pick


def _transition(name: str, statuses, role: str, service, *, keyed=False, weight=6, **extra):
    """An operation that moves one proposal through the state machine."""

    def run(args: dict, key: str) -> dict:
        proposal = service(
            proposal=Proposal.objects.get(pk=args["proposal_id"]),
            actor=_user(args["actor"]),
            **extra,
        )
        return {"status": proposal.status}

    return Operation(
        name=name,
        weight=weight,
        pick=_proposal_pick(statuses, role),
        service=run,
        request=lambda args: (
            f"/api/proposals/{args['proposal_id']}/{name.replace('_', '-')}",
            dict(extra) or None,
        ),
        keyed=keyed,
    )


# --- the wallet -------------------------------------------------------------------------


def _deposit_pick(rng: Random, world: World) -> dict:
    actor = rng.choice(world.buyers if rng.random() < 0.8 else world.freelancers)
    return {"actor": actor, "amount": str(_amount(rng, 5, 400))}


def _deposit(args: dict, key: str) -> dict:
    entry = wallet_deposit(
        user=_user(args["actor"]), amount=_money(args["amount"]), idempotency_key=key
    )
    return {"entry_id": entry.pk}


def _withdraw_pick(rng: Random, world: World) -> dict:
    actor = rng.choice(world.buyers + world.freelancers)
    wallet = Wallet.objects.filter(user_id=actor).first()
    available = wallet.available_balance.amount if wallet else Decimal(0)
    # Now and then more than there is: a refusal that must leave no trace.
    ceiling = max(int(available * Decimal("1.2")), 1)
    return {"actor": actor, "amount": str(_amount(rng, 0, ceiling) or Decimal("0.01"))}


def _withdraw(args: dict, key: str) -> dict:
    entry = wallet_withdraw(
        user=_user(args["actor"]), amount=_money(args["amount"]), idempotency_key=key
    )
    return {"entry_id": entry.pk}


# --- proposals --------------------------------------------------------------------------


def _propose_pick(rng: Random, world: World) -> dict | None:
    conversation = Conversation.objects.select_related("group").order_by("?").first()
    actor = conversation.group.leader_id
    if rng.random() < 0.05:  # not the leader: 403, no trace
        actor = rng.choice(world.freelancers)
    return {
        "actor": actor,
        "conversation_id": conversation.pk,
        "price": str(_amount(rng, 10, 300)),
        "pool_split": rng.choice(Proposal.PoolSplit.values),
    }


def _propose(args: dict, key: str) -> dict:
    proposal = proposals.proposal_create(
        conversation=Conversation.objects.get(pk=args["conversation_id"]),
        actor=_user(args["actor"]),
        title="Bank work",
        price=_money(args["price"]),
        pool_split=args["pool_split"],
    )
    return {"proposal_id": proposal.pk}


# --- tasks ------------------------------------------------------------------------------

TASKS_WRITABLE = (Status.ACCEPTED, Status.IN_PROGRESS)


def _add_task_pick(rng: Random, world: World) -> dict | None:
    """The leader adds a task of 1 to 5 points for a member, mostly to a task-points
    proposal (now and then for an outsider: 400, or by the buyer: 403; no trace)."""
    proposals_open = Proposal.objects.filter(status__in=TASKS_WRITABLE, is_legacy=False)
    if rng.random() < 0.8:
        proposals_open = proposals_open.filter(pool_split=Proposal.PoolSplit.TASK_POINTS)
    proposal = proposals_open.select_related("conversation__group").order_by("?").first()
    if proposal is None:
        return None
    conversation = proposal.conversation
    members = list(
        GroupMembership.objects.filter(group_id=conversation.group_id).values_list(
            "user_id", flat=True
        )
    )
    actor = conversation.group.leader_id
    if rng.random() < 0.05:
        actor = conversation.product_owner_id
    return {
        "actor": actor,
        "proposal_id": proposal.pk,
        "assigned_to_id": rng.choice(world.freelancers if rng.random() < 0.05 else members),
        "points": rng.randint(1, 5),
    }


def _add_task(args: dict, key: str) -> dict:
    task = proposals.task_create(
        proposal=Proposal.objects.get(pk=args["proposal_id"]),
        actor=_user(args["actor"]),
        title="Bank task",
        assigned_to=_user(args["assigned_to_id"]),
        points=args["points"],
    )
    return {"task_id": task.pk}


def _finish_task_pick(rng: Random, world: World) -> dict | None:
    """Its assignee (or the leader; now and then the buyer: 403) marks a task done."""
    task = (
        Task.objects.filter(proposal__status__in=TASKS_WRITABLE)
        .exclude(status=Task.Status.DONE)
        .select_related("proposal__conversation__group")
        .order_by("?")
        .first()
    )
    if task is None:
        return None
    conversation = task.proposal.conversation
    actor = task.assigned_to_id or conversation.group.leader_id
    if rng.random() < 0.3:
        actor = conversation.group.leader_id
    elif rng.random() < 0.05:
        actor = conversation.product_owner_id
    return {"actor": actor, "task_id": task.pk, "proposal_id": task.proposal_id}


def _finish_task(args: dict, key: str) -> dict:
    task = proposals.task_update(
        task=Task.objects.get(pk=args["task_id"]),
        actor=_user(args["actor"]),
        status=Task.Status.DONE,
    )
    return {"task_id": task.pk, "status": task.status}


# --- disputes ---------------------------------------------------------------------------

OPEN_TO_DISPUTE = (Status.ACCEPTED, Status.IN_PROGRESS, Status.DELIVERED)


def _dispute_pick(rng: Random, world: World) -> dict | None:
    return _proposal_pick(OPEN_TO_DISPUTE, rng.choice(["buyer", "leader"]))(rng, world)


def _dispute(args: dict, key: str) -> dict:
    dispute = dispute_open(
        proposal=Proposal.objects.get(pk=args["proposal_id"]),
        actor=_user(args["actor"]),
        reason="Not as agreed.",
    )
    return {"dispute_id": dispute.pk}


def _resolve_pick(rng: Random, world: World) -> dict | None:
    dispute = (
        Dispute.objects.filter(status=Dispute.Status.OPEN)
        .select_related("proposal")
        .order_by("?")
        .first()
    )
    if dispute is None:
        return None
    args = {
        "actor": rng.choice(world.support),
        "dispute_id": dispute.pk,
        "proposal_id": dispute.proposal_id,
        "outcome": rng.choice(["refund", "release", "split"]),
        "note": "Decided.",
    }
    if args["outcome"] == "split":
        price_cents = int(dispute.proposal.price.amount * 100)
        args["refund_amount"] = str(Decimal(rng.randint(1, price_cents - 1)).scaleb(-2))
    return args


def _resolve(args: dict, key: str) -> dict:
    refund = args.get("refund_amount")
    dispute = dispute_resolve(
        dispute=Dispute.objects.get(pk=args["dispute_id"]),
        actor=_user(args["actor"]),
        outcome=args["outcome"],
        note=args["note"],
        refund_amount=_money(refund) if refund else None,
    )
    return {"status": dispute.status}


def _resolve_request(args: dict) -> tuple[str, dict]:
    body = {"outcome": args["outcome"], "note": args["note"]}
    if "refund_amount" in args:
        body["refund_amount"] = args["refund_amount"]
    return f"/api/disputes/{args['dispute_id']}/resolve", body


# --- the sealed ledger ------------------------------------------------------------------


def _seal(args: dict, key: str) -> dict:
    seal = seal_ledger()
    return {"seal_id": seal.pk if seal else None}


SEAL = Operation("seal", 0, lambda rng, world: {}, _seal, request=None)


# --- groups -----------------------------------------------------------------------------


def _leave_pick(rng: Random, world: World) -> dict | None:
    membership = (
        GroupMembership.objects.exclude(user_id=F("group__leader_id")).order_by("?").first()
    )
    if membership is None:
        return None
    return {"actor": membership.user_id, "group_id": membership.group_id}


def _leave(args: dict, key: str) -> dict:
    group_leave(group=Group.objects.get(pk=args["group_id"]), user=_user(args["actor"]))
    return {}


def _transfer_pick(rng: Random, world: World) -> dict | None:
    group = Group.objects.order_by("?").first()
    others = list(
        GroupMembership.objects.filter(group=group)
        .exclude(user_id=group.leader_id)
        .values_list("user_id", flat=True)
    )
    if not others:
        return None
    return {"actor": group.leader_id, "group_id": group.pk, "user_id": rng.choice(others)}


def _transfer(args: dict, key: str) -> dict:
    group = group_leadership_transfer(
        group=Group.objects.get(pk=args["group_id"]),
        actor=_user(args["actor"]),
        new_leader_id=args["user_id"],
    )
    return {"leader_id": group.leader_id}


def _add_member_pick(rng: Random, world: World) -> dict | None:
    group = Group.objects.order_by("?").first()
    user = User.objects.get(pk=rng.choice(world.freelancers))
    return {"actor": group.leader_id, "group_id": group.pk, "username": user.username}


def _add_member(args: dict, key: str) -> dict:
    membership = group_member_add(
        group=Group.objects.get(pk=args["group_id"]),
        actor=_user(args["actor"]),
        user=User.objects.get(username=args["username"]),
    )
    return {"user_id": membership.user_id}


OPERATIONS: dict[str, Operation] = {
    operation.name: operation
    for operation in [
        Operation(
            "deposit",
            10,
            _deposit_pick,
            _deposit,
            lambda args: ("/api/wallet/deposit", {"amount": args["amount"]}),
            keyed=True,
        ),
        Operation(
            "withdraw",
            5,
            _withdraw_pick,
            _withdraw,
            lambda args: ("/api/wallet/withdraw", {"amount": args["amount"]}),
            keyed=True,
        ),
        Operation(
            "propose",
            10,
            _propose_pick,
            _propose,
            lambda args: (
                "/api/proposals",
                {
                    "conversation_id": args["conversation_id"],
                    "title": "Bank work",
                    "price": args["price"],
                    "pool_split": args["pool_split"],
                },
            ),
        ),
        _transition("accept", [Status.PENDING], "buyer", proposals.proposal_accept, keyed=True),
        _transition("reject", [Status.PENDING], "buyer", proposals.proposal_reject, weight=1),
        _transition("start", [Status.ACCEPTED], "leader", proposals.proposal_start),
        _transition(
            "deliver", [Status.ACCEPTED, Status.IN_PROGRESS], "leader", proposals.proposal_deliver
        ),
        _transition(
            "request_changes",
            [Status.DELIVERED],
            "buyer",
            proposals.proposal_request_changes,
            weight=2,
            note="One more pass, please.",
        ),
        _transition("confirm", [Status.DELIVERED], "buyer", proposals.proposal_confirm, keyed=True),
        _transition(
            "cancel",
            [Status.ACCEPTED, Status.IN_PROGRESS],
            "leader",
            proposals.proposal_cancel,
            keyed=True,
            weight=2,
        ),
        Operation(
            "add_task",
            10,
            _add_task_pick,
            _add_task,
            lambda args: (
                "/api/tasks",
                {
                    "proposal_id": args["proposal_id"],
                    "title": "Bank task",
                    "assigned_to_id": args["assigned_to_id"],
                    "points": args["points"],
                },
            ),
        ),
        Operation(
            "finish_task",
            12,
            _finish_task_pick,
            _finish_task,
            lambda args: (f"/api/tasks/{args['task_id']}", {"status": "done"}),
            method="PATCH",
        ),
        Operation(
            "dispute",
            2,
            _dispute_pick,
            _dispute,
            lambda args: (
                "/api/disputes",
                {"proposal_id": args["proposal_id"], "reason": "Not as agreed."},
            ),
        ),
        Operation("resolve", 3, _resolve_pick, _resolve, _resolve_request, keyed=True),
        Operation(
            "leave",
            2,
            _leave_pick,
            _leave,
            lambda args: (f"/api/groups/{args['group_id']}/leave", None),
        ),
        Operation(
            "transfer",
            2,
            _transfer_pick,
            _transfer,
            lambda args: (
                f"/api/groups/{args['group_id']}/transfer-leadership",
                {"user_id": args["user_id"]},
            ),
        ),
        Operation(
            "add_member",
            3,
            _add_member_pick,
            _add_member,
            lambda args: (
                f"/api/groups/{args['group_id']}/members",
                {"username": args["username"]},
            ),
        ),
    ]
}
