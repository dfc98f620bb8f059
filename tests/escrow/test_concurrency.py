"""Real threads against PostgreSQL: each thread has its own connection and transaction,
so the row locks and constraints are what keep the money right."""

import random
from collections import Counter
from decimal import Decimal
from functools import partial

import pytest

from escrow import services
from escrow.errors import EscrowNotHeld, InsufficientFunds
from escrow.models import EscrowHold, Wallet
from escrow.money import Rates
from marketplace.core.errors import DomainError
from tests.concurrency import run_together
from tests.factories import GroupFactory, UserFactory

from .conftest import available, platform_revenue, usd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]
STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))


def test_a_buyer_with_funds_for_k_locks_gets_exactly_k_of_n(ledger_clean):
    buyer = UserFactory()
    groups = [GroupFactory() for _ in range(6)]
    services.wallet_deposit(user=buyer, amount=usd("300.00"), idempotency_key="fund")

    outcomes = run_together(
        *[
            lambda group=group: services.escrow_lock(
                buyer=buyer, group=group, amount=usd("100.00"), idempotency_key=f"lock-{group.pk}"
            )
            for group in groups
        ]
    )

    locked = [o for o in outcomes if isinstance(o, EscrowHold)]
    refused = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    assert len(locked) == 3
    assert len(refused) == 3
    wallet = Wallet.objects.get(user=buyer)
    assert wallet.available_balance == usd("0.00")
    assert wallet.escrow_balance == usd("300.00")
    ledger_clean()


def test_two_releases_of_one_hold_at_once_release_it_once(ledger_clean):
    buyer, member = UserFactory(), UserFactory()
    group = GroupFactory(members=[member])
    services.wallet_deposit(user=buyer, amount=usd("1000.00"), idempotency_key="fund")
    hold = services.escrow_lock(
        buyer=buyer, group=group, amount=usd("1000.00"), idempotency_key="lock"
    )

    def release(key):
        return lambda: services.escrow_release(
            hold=hold, leader=group.leader, members=[group.leader, member], rates=STANDARD,
            idempotency_key=key,
        )  # fmt: skip

    outcomes = run_together(release("confirm-by-buyer"), release("release-by-staff"))

    assert sum(isinstance(o, list) for o in outcomes) == 1
    assert sum(isinstance(o, EscrowNotHeld) for o in outcomes) == 1
    assert platform_revenue() == Decimal("100.00")
    assert available(group.leader) == Decimal("465.00")  # 30.00 + 435.00
    assert available(member) == Decimal("435.00")
    ledger_clean()


def test_the_same_deposit_key_sent_twice_at_once_posts_once(ledger_clean):
    buyer = UserFactory()
    deposit = lambda: services.wallet_deposit(  # noqa: E731
        user=buyer, amount=usd("42.00"), idempotency_key="one-click"
    )
    outcomes = run_together(deposit, deposit, deposit)
    assert len({o.pk for o in outcomes}) == 1
    assert available(buyer) == Decimal("42.00")
    ledger_clean()


def test_a_random_mix_of_operations_leaves_the_ledger_clean(ledger_clean):
    rng = random.Random(20261126)
    buyers = [UserFactory() for _ in range(3)]
    members = [UserFactory() for _ in range(3)]
    groups = [
        GroupFactory(leader=members[0], members=members[1:]),
        GroupFactory(members=[members[2]]),
    ]
    for buyer in buyers:
        services.wallet_deposit(
            user=buyer, amount=usd("500.00"), idempotency_key=f"fund-{buyer.pk}"
        )
    holds = [
        services.escrow_lock(
            buyer=buyer, group=groups[i % 2], amount=usd("90.00"), idempotency_key=f"l{i}"
        )
        for i, buyer in enumerate(buyers * 2)
    ]

    def operation(step):
        """A random operation with random arguments, as (call, name)."""
        buyer, group, hold = rng.choice(buyers), rng.choice(groups), rng.choice(holds)
        amount = usd(f"{rng.randint(1, 12000) / 100:.2f}")
        key = f"op-{step}"
        payees = {
            "leader": hold.group_wallet.group.leader,
            "members": [m.user for m in hold.group_wallet.group.memberships.order_by("joined_at")],
            "rates": STANDARD,
        }
        calls = {
            "deposit": partial(services.wallet_deposit, user=buyer, amount=amount),
            "withdraw": partial(services.wallet_withdraw, user=buyer, amount=amount),
            "lock": partial(services.escrow_lock, buyer=buyer, group=group, amount=amount),
            "release": partial(services.escrow_release, hold=hold, **payees),
            "refund": partial(services.escrow_refund, hold=hold),
            "settle": partial(
                services.escrow_settle, hold=hold, refund_amount=usd("10.00"), **payees
            ),
        }
        name = rng.choice(sorted(calls))
        return partial(calls[name], idempotency_key=key), name

    outcomes = Counter()
    for round_number in range(6):
        calls = [operation(round_number * 10 + i) for i in range(8)]
        for (_, name), outcome in zip(
            calls, run_together(*[call for call, _ in calls]), strict=True
        ):
            assert not isinstance(outcome, Exception) or isinstance(outcome, DomainError), outcome
            outcomes[(name, "refused" if isinstance(outcome, Exception) else "ok")] += 1
        ledger_clean()

    assert sum(count for (_, result), count in outcomes.items() if result == "ok") > 0
    assert all(
        wallet.available_balance.amount >= 0 for wallet in Wallet.objects.filter(kind="user")
    )
