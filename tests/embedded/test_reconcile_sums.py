"""Reconcile's sums are exact on the embedded default too.

SQLite sums decimal columns as doubles: the sum of many awkward amounts drifts by a
fraction of a cent (999999.99 + 0.07 + ... is not exact in binary), and reconcile then
reported a stored balance that is right as "stored 123.45, ledger says 123.450000001".
It sums whole cents instead."""

import random
from decimal import Decimal

import pytest
from djmoney.money import Money

from escrow import services
from escrow.models import Wallet
from escrow.money import Rates
from escrow.reconcile import find_problems, ledger_balances
from tests.factories import GroupFactory, UserFactory

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]

SMALL = ["0.01", "0.07", "0.10", "0.20", "0.30"]
AWKWARD = [*SMALL, "765.43", "830.86", "1234.57", "999999.99"]


def usd(amount) -> Money:
    return Money(Decimal(amount), "USD")


def test_flows_of_many_awkward_amounts_sum_to_the_cent():
    """Hundreds of small deposits (a double sum of 0.10s and 0.20s drifts after a few
    hundred) and some large ones in and out."""
    rng = random.Random(20261202)
    user = UserFactory()
    expected = Decimal("0.00")
    for step in range(400):
        amount = Decimal(rng.choice(SMALL if step % 10 else AWKWARD))
        services.wallet_deposit(user=user, amount=usd(amount), idempotency_key=f"d{step}")
        expected += amount
        if step % 10 == 5:
            back = (expected / 2).quantize(Decimal("0.01"))
            services.wallet_withdraw(user=user, amount=usd(back), idempotency_key=f"w{step}")
            expected -= back

    assert find_problems() == []
    wallet = Wallet.objects.get(user=user)
    assert wallet.available_balance.amount == expected
    balance = ledger_balances("wallet")[wallet.pk]
    assert str(balance) == f"{expected:.2f}"  # exact, two places, no drift


def test_escrow_of_many_awkward_deals_reconciles():
    rng = random.Random(7)
    buyer, member = UserFactory(), UserFactory()
    group = GroupFactory(members=[member])
    rates = Rates(Decimal("0.10"), Decimal("0.03"))
    for step in range(120):
        amount = usd(rng.choice(AWKWARD))
        services.wallet_deposit(user=buyer, amount=amount, idempotency_key=f"d{step}")
        hold = services.escrow_lock(
            buyer=buyer, group=group, amount=amount, idempotency_key=f"l{step}"
        )
        if step % 2:
            services.escrow_refund(hold=hold, idempotency_key=f"r{step}")
        else:
            services.escrow_release(
                hold=hold,
                leader=group.leader,
                members=[group.leader, member],
                rates=rates,
                idempotency_key=f"p{step}",
            )
    assert find_problems() == []
