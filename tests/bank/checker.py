"""After a bank run: hold the recorded calls against the database.

- `reconcile` is clean (`escrow.reconcile.find_problems`);
- every successful call's effect is there exactly once: a deposit's or withdrawal's
  entry under its key, a proposal's lock and payout under `proposal:<id>`, and every
  transition's system message in the chat (each transition posts exactly one);
- no refused or unavailable call left a trace (no entry under its key, no message of
  its transition, no proposal, no membership change);
- calls without an answer (a killed worker, a timeout never answered) happened at most
  once: each trace nobody answered for is matched to a distinct such call;
- every user wallet, every group wallet's escrow and the platform's revenue equal what
  the recorded outcomes imply, to the cent, with every payout checked against the
  release rule: fee and commission half up, the pool shared by `largest_remainder`
  (written here from CONTRACT.md, not taken from the code under test) with weight 1
  each for an equal pool and the done tasks' points for a task-points one;
- every task was added, and every done task finished, by a successful or unanswered
  call, with the points it was given; every seal a sealing call reported is there, and
  reconcile proves the chain;
- no call answered 500 (or broke in the services), and 503s (or unreachable-database
  errors) came only while a database fault was on.

`check(calls, world, faults)` returns the list of violations, each a sentence.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

from django.contrib.auth import get_user_model

from escrow.models import EscrowTransaction, GroupWallet, LedgerSeal, Wallet
from escrow.reconcile import find_problems, ledger_balances
from marketplace.core.models import Group, GroupMembership, Message
from proposals.models import Proposal, Task

from .faults import DATABASE_FAULTS
from .recorder import ERROR, OK, UNKNOWN
from .world import World

User = get_user_model()
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
Kind = EscrowTransaction.Kind

# The status each transition leads to (a resolution's depends on its outcome).
TARGETS = {
    "accept": "accepted",
    "reject": "rejected",
    "start": "in_progress",
    "deliver": "delivered",
    "request_changes": "in_progress",
    "confirm": "completed",
    "cancel": "cancelled",
    "dispute": "disputed",
}
RESOLVED_TO = {"refund": "refunded", "release": "completed", "split": "settled"}
PAYOUT_OPERATIONS = {"confirm", "cancel", "resolve"}
# How long after a database fault ends a client may still meet a connection it broke.
GRACE_SECONDS = 10


def _target(call: dict) -> str:
    if call["op"] == "resolve":
        return RESOLVED_TO[call["args"]["outcome"]]
    return TARGETS[call["op"]]


def _half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def largest_remainder(pool_cents: int, weights: Sequence[int]) -> list[int]:
    """CONTRACT.md's split of a pool, in cents: each share is `pool x weight / total`
    floored, and the leftover cents go one each to the largest remainders, ties to the
    earlier weight (the order of joining). When every weight is 0, each counts as 1."""
    if not any(weights):
        weights = [1] * len(weights)
    total = sum(weights)
    floors = [pool_cents * weight // total for weight in weights]
    remainders = [pool_cents * weight % total for weight in weights]
    leftover = pool_cents - sum(floors)
    ranked = sorted(range(len(weights)), key=lambda index: (-remainders[index], index))
    for index in ranked[:leftover]:
        floors[index] += 1
    return floors


def follows_the_rule(
    pool_cents: int, paid: Sequence[int], weights: Sequence[int], unpaid: Sequence[int]
) -> bool:
    """Whether shares `paid` (in cents, in the order of the ledger's legs, which is the
    order of joining) of payees with `weights` follow `largest_remainder` for some of
    the payees who got no leg: participants (of `unpaid` weights) may have been paid 0
    (a tiny pool) or have left before the release, which the ledger cannot tell apart.
    A payee paid 0 never won a tie, so putting them last decides the same."""
    for size in range(len(unpaid) + 1):
        for others in combinations(unpaid, size):
            shares = largest_remainder(pool_cents, [*weights, *others])
            if shares[: len(paid)] == list(paid) and not any(shares[len(paid) :]):
                return True
    return False


class Check:
    def __init__(self, calls: dict[str, dict], world: World, faults: list[dict]):
        self.calls = list(calls.values())
        self.world = world
        self.faults = faults
        self.violations: list[str] = []
        self.unknown_happened = 0
        self.entries: dict[str, list[EscrowTransaction]] = defaultdict(list)
        for entry in EscrowTransaction.objects.order_by("idempotency_key", "leg"):
            self.entries[entry.idempotency_key].append(entry)
        self.wallet_of_user = {
            wallet.user_id: wallet for wallet in Wallet.objects.filter(kind=Wallet.Kind.USER)
        }
        self.user_of_wallet = {wallet.pk: user for user, wallet in self.wallet_of_user.items()}
        self.claimed_keys: set[str] = set()
        self.tasks_of: dict[int, list[Task]] = defaultdict(list)
        for task in Task.objects.order_by("id"):
            self.tasks_of[task.proposal_id].append(task)

    def fail(self, message: str) -> None:
        self.violations.append(message)

    def by_op(self, *names: str) -> list[dict]:
        return [call for call in self.calls if call.get("op") in names]

    # --- the whole --------------------------------------------------------------------

    def run(self) -> list[str]:
        for problem in find_problems():
            self.fail(f"reconcile: {problem}")
        self.check_answers()
        self.check_proposals(available=self.check_wallet_calls())
        self.check_memberships()
        self.check_tasks()
        self.check_seals()
        self.check_leftover_entries()
        return self.violations

    # --- answers ----------------------------------------------------------------------

    def _database_fault_at(self, moment: float) -> bool:
        return any(
            fault["kind"] in DATABASE_FAULTS
            and fault["start"] - 1 <= moment <= fault["end"] + GRACE_SECONDS
            for fault in self.faults
        )

    def check_answers(self) -> None:
        for call in self.calls:
            if "op" not in call:
                self.fail(f"call {call.get('id')}: attempts recorded without the call")
                continue
            if call["outcome"] == ERROR:
                self.fail(
                    f"call {call['id']} ({call['op']} via {call['via']}) broke: "
                    f"{call.get('status', '')} {call.get('error', '')}"
                )
            if call.get("replay_check") is False:
                self.fail(
                    f"call {call['id']} ({call['op']}): the replay {call.get('replay')} "
                    f"differs from the answer {call.get('first_body')}"
                )
            for attempt in call["attempts"]:
                unavailable = attempt.get("status") == 503 or attempt.get("error") in (
                    "OperationalError",
                    "InterfaceError",
                )
                if unavailable and not self._database_fault_at(attempt["ts"]):
                    self.fail(
                        f"call {call['id']} ({call['op']}): database unavailable "
                        f"({attempt.get('status') or attempt.get('error')}) outside any "
                        "database fault"
                    )

    # --- deposits and withdrawals -----------------------------------------------------

    def _happened(self, call: dict, found: bool, what: str) -> bool:
        """Whether `call`, whose trace was `found` or not, took effect; a violation if
        that contradicts its answer."""
        if call["outcome"] == OK:
            if not found:
                self.fail(f"call {call['id']} ({what}) succeeded but left no trace")
            return True
        if call["outcome"] == UNKNOWN:
            self.unknown_happened += found
            return found
        if found:
            self.fail(f"call {call['id']} ({what}) answered {call['outcome']} but left a trace")
        return False

    def check_wallet_calls(self) -> dict[int, Decimal]:
        """Every deposit and withdrawal against its key; returns the available balance
        each user's wallet should have from them."""
        available: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for call in self.by_op("deposit", "withdraw"):
            user = call["args"]["actor"]
            amount = Decimal(call["args"]["amount"])
            wallet = self.wallet_of_user.get(user)
            key = f"{call['op']}/w{wallet.pk}/{call['key']}" if wallet else None
            legs = self.entries.get(key, [])
            self.claimed_keys.add(key)
            what = f"{call['op']} {amount} by user {user}"
            if len(legs) > 1 or (legs and legs[0].amount.amount != amount):
                self.fail(f"call {call['id']} ({what}): ledger has {legs} under its key")
            if self._happened(call, bool(legs), what):
                available[user] += amount if call["op"] == "deposit" else -amount
        return available

    # --- proposals --------------------------------------------------------------------

    def check_proposals(self, available: dict[int, Decimal]) -> None:
        """Every proposal's transitions, lock and payout against the calls; then every
        wallet against what the calls imply (`available` holds the wallet calls' part)."""
        escrow: dict[int, Decimal] = defaultdict(lambda: ZERO)
        proposals = {
            proposal.pk: proposal
            for proposal in Proposal.objects.filter(is_legacy=False).select_related(
                "conversation__group", "escrow_hold"
            )
        }
        self.check_creations(proposals)
        announced: dict[int, Counter] = defaultdict(Counter)
        for proposal_id, status in Message.objects.filter(metadata__type="proposal").values_list(
            "metadata__proposal_id", "metadata__status"
        ):
            announced[proposal_id][status] += 1
        calls: dict[int, list[dict]] = defaultdict(list)
        for call in self.by_op(*TARGETS, "resolve"):
            calls[call["args"]["proposal_id"]].append(call)

        fees = ZERO
        paid_to_group: dict[int, Decimal] = defaultdict(lambda: ZERO)
        escrow_of_group: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for pk, proposal in proposals.items():
            happened = self.check_transitions(proposal, announced[pk], calls[pk])
            buyer = proposal.conversation.product_owner_id
            group = proposal.conversation.group_id
            price = proposal.price.amount
            if self.check_lock(proposal, accepted=any(c["op"] == "accept" for c in happened)):
                available[buyer] -= price
                escrow[buyer] += price
                escrow_of_group[group] += price
            payouts = [call for call in happened if call["op"] in PAYOUT_OPERATIONS]
            if len(payouts) > 1:
                self.fail(f"proposal #{pk} paid out {len(payouts)} times: {payouts}")
            if payouts:
                refund, fee, paid = self.check_payout(proposal, payouts[0], available)
                available[buyer] += refund
                escrow[buyer] -= price
                escrow_of_group[group] -= price
                fees += fee
                paid_to_group[group] += paid
        self.compare_wallets(available, escrow)
        self.compare_group_wallets(escrow_of_group, paid_to_group)
        platform = Wallet.objects.filter(kind=Wallet.Kind.PLATFORM).first()
        revenue = ledger_balances("wallet")[platform.pk] if platform else ZERO
        if revenue != fees:
            self.fail(f"platform revenue is {revenue}, the recorded payouts imply {fees}")

    def check_creations(self, proposals: dict[int, Proposal]) -> None:
        created = set()
        unanswered = []
        for call in self.by_op("propose"):
            if call["outcome"] == OK:
                data = call.get("data") or {}
                pk = data.get("proposal_id") or data.get("id")
                if pk not in proposals:
                    self.fail(f"call {call['id']} created proposal #{pk}, which is not there")
                created.add(pk)
            elif call["outcome"] == UNKNOWN:
                unanswered.append(call)
        for pk in sorted(set(proposals) - created):
            proposal = proposals[pk]
            match = next(
                (
                    call
                    for call in unanswered
                    if call["args"]["conversation_id"] == proposal.conversation_id
                    and Decimal(call["args"]["price"]) == proposal.price.amount
                ),
                None,
            )
            if match is None:
                self.fail(f"proposal #{pk} was created by no successful or unanswered call")
            else:
                unanswered.remove(match)
                self.unknown_happened += 1

    def check_transitions(self, proposal, announced: Counter, calls: list[dict]) -> list[dict]:
        """The proposal's announced transitions are exactly its successful calls plus
        some of its unanswered ones; returns the calls that happened."""
        announced = announced.copy()
        announced["pending"] -= 1  # its creation
        happened = []
        for call in calls:
            if call["outcome"] == OK:
                happened.append(call)
                announced[_target(call)] -= 1
        for call in calls:
            if call["outcome"] == UNKNOWN and announced[_target(call)] > 0:
                happened.append(call)
                announced[_target(call)] -= 1
                self.unknown_happened += 1
        for status, extra in announced.items():
            if extra > 0:
                self.fail(
                    f"proposal #{proposal.pk}: {extra} transition(s) to {status} that no "
                    "successful or unanswered call made"
                )
            elif extra < 0:
                self.fail(
                    f"proposal #{proposal.pk}: {-extra} successful call(s) to {status} left "
                    "no system message"
                )
        final = proposal.status
        if final != "pending" and final not in {_target(call) for call in happened}:
            self.fail(f"proposal #{proposal.pk} is {final}, which no call that happened made")
        return happened

    def check_lock(self, proposal, *, accepted: bool) -> bool:
        buyer_wallet = self.wallet_of_user.get(proposal.conversation.product_owner_id)
        key = f"lock/w{buyer_wallet.pk}/proposal:{proposal.pk}" if buyer_wallet else None
        legs = self.entries.get(key, [])
        self.claimed_keys.add(key)
        if accepted != bool(legs) or len(legs) > 1:
            self.fail(f"proposal #{proposal.pk}: accepted={accepted}, lock entries {legs}")
        elif legs and legs[0].amount != proposal.price:
            self.fail(f"proposal #{proposal.pk}: locked {legs[0].amount}, price {proposal.price}")
        return bool(legs)

    def check_payout(self, proposal, call: dict, available) -> tuple[Decimal, Decimal, Decimal]:
        """The payout's entries against the release rule; credits the payees in
        `available` and returns (refund to the buyer, platform fee, paid to the group)."""
        price = proposal.price.amount
        operation = {"confirm": "release", "cancel": "refund"}.get(call["op"])
        if call["op"] == "resolve":
            operation = {"refund": "refund", "release": "release", "split": "settle"}[
                call["args"]["outcome"]
            ]
        key = f"{operation}/h{proposal.escrow_hold_id}/proposal:{proposal.pk}"
        legs = self.entries.get(key, [])
        self.claimed_keys.add(key)
        label = f"proposal #{proposal.pk} ({operation})"
        if not legs or sum(leg.amount.amount for leg in legs) != price:
            self.fail(f"{label}: entries {legs} do not pay out the price {price}")
            return ZERO, ZERO, ZERO
        refund = sum((leg.amount.amount for leg in legs if leg.kind == Kind.REFUND), ZERO)
        expected_refund = {"refund": price, "release": ZERO}.get(operation)
        if expected_refund is None:
            expected_refund = Decimal(call["args"]["refund_amount"])
        if refund != expected_refund:
            self.fail(f"{label}: refunded {refund}, the call implies {expected_refund}")
        released = price - refund
        fee = sum((leg.amount.amount for leg in legs if leg.kind == Kind.PLATFORM_FEE), ZERO)
        commission = [leg for leg in legs if leg.kind == Kind.LEADER_COMMISSION]
        shares = [leg for leg in legs if leg.kind == Kind.MEMBER_SHARE]
        paid = sum((leg.amount.amount for leg in commission + shares), ZERO)
        if released:
            self._check_release_rule(proposal, label, released, fee, commission, shares)
        for leg in commission + shares:
            available[self.user_of_wallet[leg.to_wallet_id]] += leg.amount.amount
        return refund, fee, paid

    def _check_release_rule(self, proposal, label, released, fee, commission, shares) -> None:
        expected_fee = _half_up(released * proposal.platform_fee_rate)
        expected_commission = _half_up(released * proposal.leader_commission_rate)
        pool = released - expected_fee - expected_commission
        commission_paid = sum((leg.amount.amount for leg in commission), ZERO)
        amounts = [leg.amount.amount for leg in shares]
        participants = set(proposal.participants.values_list("pk", flat=True))
        payees = [self.user_of_wallet.get(leg.to_wallet_id) for leg in shares]
        if fee != expected_fee or commission_paid != expected_commission:
            self.fail(
                f"{label}: fee {fee} and commission {commission_paid}, the rule says "
                f"{expected_fee} and {expected_commission} of {released}"
            )
        points = self.done_points(proposal)
        by_points = proposal.pool_split == Proposal.PoolSplit.TASK_POINTS

        def weight(user) -> int:
            return points.get(user, 0) if by_points else 1

        unpaid = [weight(user) for user in participants - set(payees)]
        cents = [int(amount / CENT) for amount in amounts]
        if not follows_the_rule(int(pool / CENT), cents, [weight(u) for u in payees], unpaid):
            rule = f"by the done points {points}" if by_points else "equally"
            self.fail(f"{label}: member shares {amounts} to {payees} do not split {pool} {rule}")
        if len(set(payees)) != len(payees) or (
            participants and not set(payees) <= participants | {self.leader_paid(commission)}
        ):
            self.fail(f"{label}: shares went to {payees}, participants are {participants}")

    def done_points(self, proposal) -> dict[int, int]:
        """Points of the proposal's done tasks by assignee (tasks stop changing once the
        proposal is delivered or disputed, so these are the release's)."""
        points: dict[int, int] = defaultdict(int)
        for task in self.tasks_of[proposal.pk]:
            if task.status == Task.Status.DONE and task.assigned_to_id is not None:
                points[task.assigned_to_id] += task.points
        return dict(points)

    def leader_paid(self, commission) -> int | None:
        return self.user_of_wallet.get(commission[0].to_wallet_id) if commission else None

    # --- balances ---------------------------------------------------------------------

    def compare_wallets(self, available, escrow) -> None:
        for user in set(self.wallet_of_user) | set(available) | set(escrow):
            wallet = self.wallet_of_user.get(user)
            stored = (
                (wallet.available_balance.amount, wallet.escrow_balance.amount)
                if wallet
                else (ZERO, ZERO)
            )
            implied = (available[user], escrow[user])
            if stored != implied:
                self.fail(
                    f"user {user}'s wallet holds available/escrow {stored[0]}/{stored[1]}, "
                    f"the recorded outcomes imply {implied[0]}/{implied[1]}"
                )

    def compare_group_wallets(self, escrow_of_group, paid_to_group) -> None:
        for wallet in GroupWallet.objects.all():
            stored = (wallet.escrow_balance.amount, wallet.total_escrow_received.amount)
            implied = (escrow_of_group[wallet.group_id], paid_to_group[wallet.group_id])
            if stored != implied:
                self.fail(
                    f"group {wallet.group_id}'s wallet holds escrow/received "
                    f"{stored[0]}/{stored[1]}, the recorded outcomes imply "
                    f"{implied[0]}/{implied[1]}"
                )

    def check_leftover_entries(self) -> None:
        """Every entry of the ledger belongs to a call checked above."""
        for key, legs in self.entries.items():
            if key not in self.claimed_keys:
                self.fail(f"ledger entries under {key!r} belong to no recorded call: {legs}")

    # --- tasks and seals --------------------------------------------------------------

    def check_tasks(self) -> None:
        """Every task was added by a successful or unanswered call, with its points; it
        is done exactly when a call that happened finished it."""
        tasks = {task.pk: task for listed in self.tasks_of.values() for task in listed}
        added: dict[int, dict] = {}
        unanswered = []
        for call in self.by_op("add_task"):
            data = call.get("data") or {}
            task_id = data.get("task_id") or data.get("id")
            if call["outcome"] == OK:
                if task_id not in tasks:
                    self.fail(f"call {call['id']} added task #{task_id}, which is not there")
                added[task_id] = call
            elif call["outcome"] == UNKNOWN:
                unanswered.append(call)
        for pk, task in tasks.items():
            call = added.get(pk)
            if call is None:
                made = {"proposal_id": task.proposal_id, "points": task.points}
                call = next((c for c in unanswered if made.items() <= c["args"].items()), None)
                if call is None:
                    self.fail(f"task #{pk} was added by no successful or unanswered call")
                    continue
                unanswered.remove(call)
                self.unknown_happened += 1
            given = call["args"]["points"]
            if task.points != given:
                self.fail(f"task #{pk} is worth {task.points}; call {call['id']} gave {given}")
        finishing: dict[int, Counter] = defaultdict(Counter)
        for call in self.by_op("finish_task"):
            finishing[call["args"]["task_id"]][call["outcome"]] += 1
        for pk, task in tasks.items():
            done, calls = task.status == Task.Status.DONE, finishing[pk]
            if calls[OK] and not done:
                self.fail(f"task #{pk} is {task.status}, but a successful call finished it")
            elif done and not calls[OK]:
                if not calls[UNKNOWN]:
                    self.fail(f"task #{pk} is done, but no call that happened finished it")
                self.unknown_happened += bool(calls[UNKNOWN])

    def check_seals(self) -> None:
        """Every seal a sealing call reported is there (reconcile, run first, proves
        them all)."""
        seals = set(LedgerSeal.objects.values_list("pk", flat=True))
        for call in self.by_op("seal"):
            seal = (call.get("data") or {}).get("seal_id")
            if call["outcome"] == OK and seal is not None and seal not in seals:
                self.fail(f"call {call['id']} made seal #{seal}, which is not there")

    # --- groups -----------------------------------------------------------------------

    def check_memberships(self) -> None:
        tally: dict[tuple[int, int], Counter] = defaultdict(Counter)
        for call in self.by_op("add_member", "leave"):
            group = call["args"]["group_id"]
            if call["op"] == "leave":
                user = call["args"]["actor"]
            elif call["outcome"] == OK:
                user = (call.get("data") or {}).get("user_id") or call["data"].get("id")
            else:
                user = self._user_id(call["args"]["username"])
            tally[group, user][f"{call['op']}:{call['outcome']}"] += 1
        final = set(GroupMembership.objects.values_list("group_id", "user_id"))
        for group in self.world.groups:
            for user in self.world.freelancers:
                counts = tally[group, user]
                start = int(user in self.world.initial_members[str(group)])
                end = int((group, user) in final)
                net = start + counts[f"add_member:{OK}"] - counts[f"leave:{OK}"]
                slack_up, slack_down = counts[f"add_member:{UNKNOWN}"], counts[f"leave:{UNKNOWN}"]
                if not net - slack_down <= end <= net + slack_up:
                    self.fail(
                        f"group {group}, user {user}: member={end}, but the calls imply "
                        f"{net} ({dict(counts)})"
                    )
        transfers = defaultdict(set)
        for call in self.by_op("transfer"):
            if call["outcome"] in (OK, UNKNOWN):
                transfers[call["args"]["group_id"]].add(call["args"]["user_id"])
        for group in Group.objects.filter(pk__in=self.world.groups):
            allowed = {self.world.initial_leaders[str(group.pk)]} | transfers[group.pk]
            if group.leader_id not in allowed:
                self.fail(f"group {group.pk} is led by {group.leader_id}, whom no call chose")
            if (group.pk, group.leader_id) not in final:
                self.fail(f"group {group.pk}'s leader {group.leader_id} is not a member")

    def _user_id(self, username: str) -> int | None:
        return User.objects.filter(username=username).values_list("pk", flat=True).first()


def check(calls: dict[str, dict], world: World, faults: list[dict]) -> tuple[list[str], int]:
    """The violations, and how many unanswered calls turned out to have happened."""
    checker = Check(calls, world, faults)
    violations = checker.run()
    return violations, checker.unknown_happened
