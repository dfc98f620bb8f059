from decimal import Decimal

import pytest
from django.db import connection
from djmoney.money import Money

from escrow import services
from escrow.models import EscrowTransaction, GroupWallet, Wallet
from escrow.reconcile import ledger_balances
from tests.factories import GroupFactory, UserFactory


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def available(user) -> Decimal:
    return Wallet.objects.get(user=user).available_balance.amount


def escrow_of(user) -> Decimal:
    return Wallet.objects.get(user=user).escrow_balance.amount


def platform_revenue() -> Decimal:
    platform = Wallet.objects.filter(kind=Wallet.Kind.PLATFORM).first()
    return ledger_balances("wallet")[platform.pk] if platform else Decimal("0.00")


def group_wallet(group) -> GroupWallet:
    return GroupWallet.objects.get(group=group)


def entry_count() -> int:
    return EscrowTransaction.objects.count()


@pytest.fixture
def buyer(db):
    return UserFactory(username="buyer")


@pytest.fixture
def members(db):
    return [UserFactory(username="member1"), UserFactory(username="member2")]


@pytest.fixture
def group(db, members):
    return GroupFactory(leader=UserFactory(username="leader"), members=members)


@pytest.fixture
def funded_buyer(buyer):
    services.wallet_deposit(user=buyer, amount=usd("1500.00"), idempotency_key="fund-buyer")
    return buyer


@pytest.fixture
def charges(monkeypatch) -> list:
    """Stand in for the payment provider (an outside service, the one part not run here
    for real): the list of charges made, each as (amount, whether a transaction was open
    when it came)."""
    made = []

    class Recording:
        def charge(self, *, user_id, amount, idempotency_key):
            made.append((amount, connection.in_atomic_block))
            return f"recorded-{len(made)}"

    monkeypatch.setattr(services, "payment_provider", Recording)
    return made
