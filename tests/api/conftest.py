"""Fixtures of the API tests: users, money helpers. (Clients are in tests/conftest.py.)"""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from djmoney.money import Money

from escrow import services as escrow_services
from escrow.models import EscrowTransaction, Wallet
from tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def alice(user, client_for):
    return client_for(user)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def fund(user, amount: str, key: str | None = None):
    """Deposit through the service (not the API under test)."""
    return escrow_services.wallet_deposit(
        user=user, amount=usd(amount), idempotency_key=key or escrow_services.new_key()
    )


def balances(user) -> tuple[str, str, str]:
    wallet = Wallet.objects.get(user=user)
    return (
        f"{wallet.balance.amount:.2f}",
        f"{wallet.available_balance.amount:.2f}",
        f"{wallet.escrow_balance.amount:.2f}",
    )


def entry_count(**filters) -> int:
    return EscrowTransaction.objects.filter(**filters).count()


def run_together(*calls):
    """Start every call at the same moment in its own thread (own connection); return
    each outcome (the result, or the exception raised) in order."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung: deadlock?"
    return outcomes
