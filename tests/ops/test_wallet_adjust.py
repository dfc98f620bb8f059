"""`escrow.services.wallet_adjust`: staff corrections as ledger entries against the
platform account, and its refusals."""

import pytest

from escrow.errors import IdempotencyKeyReused, InsufficientFunds
from escrow.models import EscrowTransaction, Wallet
from escrow.reconcile import ledger_balances
from escrow.services import wallet_adjust
from marketplace.core.errors import Forbidden, InvalidInput
from tests.factories import UserFactory
from tests.proposals.factories import fund, usd

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet():
    user = UserFactory(username="customer")
    fund(user, "50.00")
    return Wallet.objects.get(user=user)


def platform_balance() -> str:
    platform = Wallet.objects.get(kind=Wallet.Kind.PLATFORM, balance_currency="USD")
    return str(ledger_balances("wallet")[platform.pk])


def _available(wallet) -> str:
    wallet.refresh_from_db()
    return str(wallet.available_balance.amount)


def test_credit_and_debit(wallet, finance, ledger_clean):
    credit = wallet_adjust(
        wallet=wallet,
        amount=usd("12.34"),
        reason="Refund of a fee.",
        actor=finance,
        idempotency_key="adj-credit",
    )
    assert _available(wallet) == "62.34"
    assert (credit.kind, credit.to_wallet_id, credit.actor_id) == (
        "adjustment",
        wallet.pk,
        finance.pk,
    )
    assert platform_balance() == "-12.34"
    ledger_clean()

    again = wallet_adjust(
        wallet=wallet,
        amount=usd("12.34"),
        reason="Refund of a fee.",
        actor=finance,
        idempotency_key="adj-credit",
    )
    assert again.pk == credit.pk and _available(wallet) == "62.34"

    debit = wallet_adjust(
        wallet=wallet,
        amount=usd("-62.34"),
        reason="Chargeback.",
        actor=finance,
        idempotency_key="adj-debit",
    )
    assert debit.from_wallet_id == wallet.pk and debit.memo == "Chargeback."
    assert _available(wallet) == "0.00"
    assert platform_balance() == "50.00"
    ledger_clean()


def test_refusals_change_nothing(wallet, finance, plain_staff, support, ledger_clean):
    def adjust(amount, actor=finance, reason="Because.", key="adj-x"):
        return wallet_adjust(
            wallet=wallet, amount=usd(amount), reason=reason, actor=actor, idempotency_key=key
        )

    with pytest.raises(InsufficientFunds) as error:
        adjust("-50.01")
    assert error.value.code == "insufficient_funds"
    for actor in (plain_staff, support, UserFactory()):
        with pytest.raises(Forbidden):
            adjust("1.00", actor=actor)
    with pytest.raises(InvalidInput) as error:
        adjust("1.00", reason="  ")
    assert error.value.code == "reason_required"
    for amount in ("0.00", "0.001", "1000000.01"):
        with pytest.raises(InvalidInput):
            adjust(amount)
    platform = Wallet.objects.filter(kind="platform").first()
    with pytest.raises(InvalidInput) as error:
        wallet_adjust(
            wallet=platform or Wallet.objects.create(kind="platform"),
            amount=usd("1.00"),
            reason="x",
            actor=finance,
            idempotency_key="adj-p",
        )
    assert error.value.code == "invalid_wallet"
    adjust("1.00", key="adj-once")
    with pytest.raises(IdempotencyKeyReused):
        adjust("2.00", key="adj-once")

    assert _available(wallet) == "51.00"
    assert EscrowTransaction.objects.filter(kind="adjustment").count() == 1
    ledger_clean()
