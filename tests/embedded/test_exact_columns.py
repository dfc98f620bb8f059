"""numeric(15,2) is exact on the embedded default too: SQLite stores these columns as
doubles, which hold 15 significant digits, so every balance up to 9 999 999 999 999.99
reads back to the cent and the whole-cents CHECK accepts exactly the right sums."""

import random
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from djmoney.money import Money

from escrow.models import Wallet
from tests.factories import UserFactory

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]

LIMIT_CENTS = 999_999_999_999_999


def usd(cents: int) -> Money:
    return Money(Decimal(cents).scaleb(-2), "USD")


def store(available: int, escrow: int, balance: int | None = None) -> Wallet:
    with transaction.atomic():
        return Wallet.objects.create(
            user=UserFactory(),
            balance=usd(available + escrow if balance is None else balance),
            available_balance=usd(available),
            escrow_balance=usd(escrow),
        )


def test_balances_up_to_the_limit_are_stored_and_read_to_the_cent():
    rng = random.Random(15)
    cases = [(LIMIT_CENTS - 20, 20), (LIMIT_CENTS, 0), (0, LIMIT_CENTS), (10, 20), (1, 2)]
    for _ in range(300):
        total = rng.choice([rng.randint(0, LIMIT_CENTS), rng.randint(0, 10**6)])
        escrow = rng.randint(0, total)
        cases.append((total - escrow, escrow))
    for available, escrow in cases:
        wallet = store(available, escrow)
        wallet.refresh_from_db()
        assert (
            wallet.balance.amount,
            wallet.available_balance.amount,
            wallet.escrow_balance.amount,
        ) == (
            Decimal(available + escrow).scaleb(-2),
            Decimal(available).scaleb(-2),
            Decimal(escrow).scaleb(-2),
        )


@pytest.mark.parametrize(
    ("available", "escrow", "balance"),
    [(10, 20, 31), (10, 20, 29), (LIMIT_CENTS - 20, 20, LIMIT_CENTS - 1), (0, 1, 0)],
)
def test_the_check_refuses_a_balance_off_by_a_cent(available, escrow, balance):
    with pytest.raises(IntegrityError, match="wallet_balance_is_available_plus_escrow"):
        store(available, escrow, balance)
