"""The bank's checker catches what it is there to catch. A small recorded story runs
through the services (a deposit, a refused withdrawal, an equal proposal from creation
to payout, then a task-points one whose tasks are added and finished before the
delivery, and a seal); the checker finds it clean, then finds each tampering: a call
missing from the records, a refusal that left a trace, a success that left none, a 503
outside any database fault, a balance changed behind the ledger's back, done points that
the payout did not follow, a task nobody finished, a seal that is not there. The
task-points rule itself is pinned by worked examples in cents."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal
from random import Random

import pytest
from djmoney.money import Money

from escrow import sealing
from escrow.models import EscrowTransaction, Wallet
from escrow.money import split_by_weight
from marketplace.core.models import Conversation, GroupMembership
from proposals.models import Task
from tests.bank.checker import check, follows_the_rule, largest_remainder
from tests.bank.operations import OPERATIONS, SEAL
from tests.bank.recorder import OK, REFUSED, UNKNOWN, Recorder, calls
from tests.bank.worker import call_service
from tests.bank.world import world_create

pytestmark = pytest.mark.django_db
EVERY_OPERATION = {**OPERATIONS, SEAL.name: SEAL}


@pytest.fixture
def story(tmp_path, monkeypatch):
    """The world, the recorded calls of the story, and the ids of its calls by name."""
    monkeypatch.setattr(sealing, "SETTLE", timedelta(0))
    world = world_create(buyers=1, groups=1, members_per_group=3)
    recorder = Recorder(tmp_path / "worker-0.jsonl")
    buyer, group = world.buyers[0], world.groups[0]
    leader = world.initial_leaders[str(group)]
    m1, m2 = (
        GroupMembership.objects.filter(group_id=group)
        .exclude(user_id=leader)
        .order_by("joined_at", "id")
        .values_list("user_id", flat=True)
    )
    conversation = Conversation.objects.get(product_owner_id=buyer, group_id=group)
    ids = {}

    def run(label, name, args):
        operation = EVERY_OPERATION[name]
        call_id, key = uuid.uuid4().hex, uuid.uuid4().hex
        recorder.write("begin", id=call_id, op=operation.name, via="service", args=args, key=key)
        outcome, fields = call_service(operation, args, key, record_attempt=print)
        recorder.write("end", id=call_id, outcome=outcome, **fields)
        ids[label] = call_id
        return fields.get("data", {})

    def propose(label, price, pool_split):
        args = {"conversation_id": conversation.pk, "price": price, "pool_split": pool_split}
        return run(label, "propose", {"actor": leader, **args})["proposal_id"]

    run("deposit", "deposit", {"actor": buyer, "amount": "100.00"})
    run("overdraft", "withdraw", {"actor": buyer, "amount": "500.00"})
    proposal = propose("propose", "50.01", "equal")
    for name, actor in [("accept", buyer), ("deliver", leader), ("confirm", buyer)]:
        run(name, name, {"actor": actor, "proposal_id": proposal})

    # 100.00 by done points: leader 2, m1 3, m2 3 (and m2's 1 not done), in that order of
    # joining. The pool of 87.00 splits 21.75, 32.625, 32.625: the tied cent goes to m1.
    run("deposit 2", "deposit", {"actor": buyer, "amount": "100.00"})
    proposal = propose("propose 2", "100.00", "task_points")
    run("accept 2", "accept", {"actor": buyer, "proposal_id": proposal})
    for label, assignee, points, done in [
        ("task leader", leader, 2, True),
        ("task m1", m1, 3, True),
        ("task m2", m2, 3, True),
        ("task m2 todo", m2, 1, False),
    ]:
        args = {"proposal_id": proposal, "assigned_to_id": assignee, "points": points}
        task = run(label, "add_task", {"actor": leader, **args})["task_id"]
        if done:
            args = {"actor": assignee, "task_id": task, "proposal_id": proposal}
            run(f"finish {label}", "finish_task", args)
    refused = {"proposal_id": proposal, "assigned_to_id": m1, "points": 5}
    run("task by the buyer", "add_task", {"actor": buyer, **refused})
    run("deliver 2", "deliver", {"actor": leader, "proposal_id": proposal})
    run("confirm 2", "confirm", {"actor": buyer, "proposal_id": proposal})
    run("seal", "seal", {})
    recorder.close()
    return world, calls(tmp_path), ids


def test_a_clean_story_is_clean(story):
    world, recorded, ids = story
    assert recorded[ids["overdraft"]]["outcome"] == REFUSED
    assert recorded[ids["task by the buyer"]]["outcome"] == REFUSED
    assert all(
        recorded[ids[name]]["outcome"] == OK
        for name in ("deposit", "confirm", "finish task m2", "confirm 2", "seal")
    )
    shares = EscrowTransaction.objects.filter(
        idempotency_key__startswith="release/", kind=EscrowTransaction.Kind.MEMBER_SHARE
    ).order_by("id")
    assert [f"{leg.amount.amount}" for leg in shares][-3:] == ["21.75", "32.63", "32.62"]
    assert sealing.backlog()[0] == 0

    assert check(recorded, world, faults=[]) == ([], 0)


def test_an_unrecorded_deposit_is_found(story):
    world, recorded, ids = story
    del recorded[ids["deposit"]]

    violations, _ = check(recorded, world, faults=[])

    assert any("belong to no recorded call" in violation for violation in violations)
    assert any("the recorded outcomes imply" in violation for violation in violations)


def test_a_refusal_that_left_a_trace_is_found(story):
    world, recorded, ids = story
    recorded[ids["confirm"]]["outcome"] = REFUSED

    violations, _ = check(recorded, world, faults=[])

    assert any("to completed that no successful" in violation for violation in violations)


def test_a_success_that_left_nothing_is_found(story):
    world, recorded, ids = story
    phantom = {**recorded[ids["deposit"]], "id": "phantom", "key": "never-posted"}
    recorded["phantom"] = phantom

    violations, _ = check(recorded, world, faults=[])

    assert any("succeeded but left no trace" in violation for violation in violations)


def test_an_unanswered_call_may_have_happened_once(story):
    world, recorded, ids = story
    recorded[ids["deposit"]]["outcome"] = UNKNOWN
    recorded[ids["confirm"]]["outcome"] = UNKNOWN

    assert check(recorded, world, faults=[]) == ([], 2)


def test_a_503_counts_only_while_the_database_is_away(story):
    world, recorded, ids = story
    now = time.time()
    recorded[ids["accept"]]["attempts"].append({"status": 503, "ts": now})

    violations, _ = check(recorded, world, faults=[])
    assert any("outside any database fault" in violation for violation in violations)
    fault = {"kind": "pg_restart", "start": now - 2, "end": now - 1}
    assert check(recorded, world, faults=[fault]) == ([], 0)


def test_a_balance_changed_behind_the_ledger_is_found(story):
    world, recorded, _ = story
    Wallet.objects.filter(user_id=world.buyers[0]).update(available_balance=1, balance=1)

    violations, _ = check(recorded, world, faults=[])

    assert any(violation.startswith("reconcile:") for violation in violations)
    assert any("the recorded outcomes imply" in violation for violation in violations)


def test_a_payout_that_did_not_follow_the_done_points_is_found(story):
    world, recorded, _ = story
    # As if the leader's task had been worth 1: 87.00 by 1:3:3 is 12.43, 37.29, 37.28.
    Task.objects.filter(points=2).update(points=1)

    violations, _ = check(recorded, world, faults=[])

    assert any("do not split 87.00 by the done points" in violation for violation in violations)
    assert any("is worth 1; call" in violation for violation in violations)


def test_a_task_done_without_a_call_is_found(story):
    world, recorded, ids = story
    del recorded[ids["finish task m1"]]

    violations, _ = check(recorded, world, faults=[])

    assert any("done, but no call that happened finished it" in v for v in violations)


def test_a_seal_reported_but_missing_is_found(story):
    world, recorded, ids = story
    recorded[ids["seal"]]["data"]["seal_id"] += 1

    violations, _ = check(recorded, world, faults=[])

    assert any("which is not there" in violation for violation in violations)


# --- the task-points rule, in cents ------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "weights", "shares"),
    [
        # A tie: 8700 x 3/8 = 3262.5 twice; the cent goes to the earlier of the two.
        (8700, [2, 3, 3], [2175, 3263, 3262]),
        (8700, [3, 3, 2], [3263, 3262, 2175]),
        # Two leftover cents, to the largest remainders (6/7 and 5/7), not the first ones.
        (8700, [1, 2, 4], [1243, 2486, 4971]),
        # The smallest weight has the largest remainder (3/7 against 2/7 twice).
        (10, [3, 1, 3], [4, 2, 4]),
        # Weight 0 gets 0; nothing done at all falls back to equal shares.
        (100, [0, 1, 1], [0, 50, 50]),
        (100, [0, 0, 0], [34, 33, 33]),
    ],
)
def test_the_checkers_rule_by_worked_examples(pool, weights, shares):
    assert largest_remainder(pool, weights) == shares
    assert follows_the_rule(pool, shares, weights, unpaid=[])
    wrong = shares[:]
    wrong[0], wrong[-1] = wrong[-1], wrong[0]
    if wrong != shares:
        assert not follows_the_rule(pool, wrong, weights, unpaid=[])


def test_a_tie_broken_the_other_way_is_a_violation():
    assert not follows_the_rule(8700, [2175, 3262, 3263], [2, 3, 3], unpaid=[])
    assert not follows_the_rule(8700, [2900, 2900, 2900], [2, 3, 3], unpaid=[])  # equal


def test_a_payee_paid_nothing_may_explain_the_shares():
    # 0.03 by 5:1 is 3 and 0, so 2 and 1 needs a third payee, of weight 1, paid nothing
    # (5:1:1 is 2.14, 0.43, 0.43: the cent to the earlier tie).
    assert not follows_the_rule(3, [2, 1], [5, 1], unpaid=[])
    assert follows_the_rule(3, [2, 1], [5, 1], unpaid=[1])
    assert not follows_the_rule(3, [2, 1], [5, 1], unpaid=[4])


def test_the_checkers_rule_agrees_with_the_service():
    rng = Random(15)
    for _ in range(500):
        weights = [rng.choice([0, 0, 1, 2, 3, 5, 100]) for _ in range(rng.randint(1, 6))]
        pool = rng.randint(1, 1_000_000)
        service = split_by_weight(Money(Decimal(pool).scaleb(-2), "USD"), weights)
        expected = largest_remainder(pool, weights)
        assert [int(share.amount * 100) for share in service] == expected, (pool, weights)
