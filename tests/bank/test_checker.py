"""The bank's checker catches what it is there to catch. A small recorded story runs
through the services (a deposit, a refused withdrawal, a proposal from creation to
payout); the checker finds it clean, then finds each tampering: a call missing from
the records, a refusal that left a trace, a success that left none, a 503 outside any
database fault, a balance changed behind the ledger's back."""

import time
import uuid

import pytest

from escrow.models import Wallet
from marketplace.core.models import Conversation
from tests.bank.checker import check
from tests.bank.operations import OPERATIONS
from tests.bank.recorder import OK, REFUSED, UNKNOWN, Recorder, calls
from tests.bank.worker import call_service
from tests.bank.world import world_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(tmp_path):
    """The world, the recorded calls of the story, and the ids of its calls by name."""
    world = world_create(buyers=1, groups=1, members_per_group=3)
    recorder = Recorder(tmp_path / "worker-0.jsonl")
    buyer, group = world.buyers[0], world.groups[0]
    leader = world.initial_leaders[str(group)]
    conversation = Conversation.objects.get(product_owner_id=buyer, group_id=group)
    ids = {}

    def run(label, name, args):
        call_id, key = uuid.uuid4().hex, uuid.uuid4().hex
        recorder.write("begin", id=call_id, op=name, via="service", args=args, key=key)
        outcome, fields = call_service(OPERATIONS[name], args, key, record_attempt=print)
        recorder.write("end", id=call_id, outcome=outcome, **fields)
        ids[label] = call_id
        return fields.get("data", {})

    run("deposit", "deposit", {"actor": buyer, "amount": "100.00"})
    run("overdraft", "withdraw", {"actor": buyer, "amount": "500.00"})
    proposal = run(
        "propose",
        "propose",
        {"actor": leader, "conversation_id": conversation.pk, "price": "50.01"},
    )["proposal_id"]
    for name, actor in [("accept", buyer), ("deliver", leader), ("confirm", buyer)]:
        run(name, name, {"actor": actor, "proposal_id": proposal})
    recorder.close()
    return world, calls(tmp_path), ids


def test_a_clean_story_is_clean(story):
    world, recorded, ids = story
    assert recorded[ids["overdraft"]]["outcome"] == REFUSED
    assert all(recorded[ids[name]]["outcome"] == OK for name in ("deposit", "confirm"))

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
