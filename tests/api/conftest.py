"""Fixtures of the API tests: users, money helpers. (Clients are in tests/conftest.py.)"""

from decimal import Decimal

import pytest
from djmoney.money import Money

from escrow import services as escrow_services
from escrow.models import EscrowTransaction, Wallet
from tests.factories import UserFactory

# Not plain ASCII decimals with at most two places: each is 400 `invalid_amount`, never a
# 500 and never quietly read as something else ("١٢" is not 12.00).
ABSURD_AMOUNTS = [
    "1e30",
    "1E2",
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits
    "\uff11\uff12",  # full-width digits
    "12.",
    ".5",
    "+5",
    "5 5",
    "0x10",
    "1" * 10_000,
    "9" * 40 + ".00",
]


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
