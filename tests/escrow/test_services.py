"""Every money service: the happy path with exact cents, each refusal changing
nothing, idempotent retries having one effect, and the ledger invariants after each."""

from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult
from djmoney.money import Money

from escrow import services
from escrow import tasks as escrow_tasks
from escrow.errors import (
    CurrencyMismatch,
    EscrowNotHeld,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidSplit,
    PaymentsDisabled,
)
from escrow.models import EscrowTransaction, Wallet
from escrow.money import Rates
from tests.conftest import run_background_tasks

from .conftest import available, entry_count, escrow_of, group_wallet, platform_revenue, usd

pytestmark = pytest.mark.django_db
STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))


def participants(group, members):
    return [group.leader, *members]


def test_deposit_credits_the_available_balance(buyer, ledger_clean):
    entry = services.wallet_deposit(user=buyer, amount=usd("250.75"), idempotency_key="d1")

    assert entry.kind == EscrowTransaction.Kind.DEPOSIT
    assert entry.amount == usd("250.75")
    wallet = Wallet.objects.get(user=buyer)
    assert wallet.available_balance == usd("250.75")
    assert wallet.escrow_balance == usd("0.00")
    assert wallet.balance == usd("250.75")
    ledger_clean()


def test_deposit_retry_under_the_same_key_has_one_effect(buyer, ledger_clean):
    first = services.wallet_deposit(user=buyer, amount=usd("10.00"), idempotency_key="same")
    again = services.wallet_deposit(user=buyer, amount=usd("10.00"), idempotency_key="same")

    assert again.pk == first.pk
    assert available(buyer) == Decimal("10.00")
    assert entry_count() == 1
    ledger_clean()


def test_deposit_key_reused_for_another_amount_is_refused(buyer, ledger_clean):
    services.wallet_deposit(user=buyer, amount=usd("10.00"), idempotency_key="same")
    with pytest.raises(IdempotencyKeyReused):
        services.wallet_deposit(user=buyer, amount=usd("11.00"), idempotency_key="same")
    assert available(buyer) == Decimal("10.00")
    assert entry_count() == 1
    ledger_clean()


def test_deposit_without_a_payment_provider_is_refused(buyer, settings):
    settings.PAYMENTS_SANDBOX = False
    with pytest.raises(PaymentsDisabled) as refusal:
        services.wallet_deposit(user=buyer, amount=usd("10.00"), idempotency_key="d1")
    assert refusal.value.status == 404
    assert entry_count() == 0


def test_deposit_in_another_currency_than_the_wallet_is_refused(funded_buyer, ledger_clean):
    with pytest.raises(CurrencyMismatch):
        services.wallet_deposit(user=funded_buyer, amount=Money("5.00", "EUR"), idempotency_key="e")
    assert available(funded_buyer) == Decimal("1500.00")
    ledger_clean()


def test_withdraw_takes_from_the_available_balance(funded_buyer, ledger_clean):
    entry = services.wallet_withdraw(user=funded_buyer, amount=usd("500.25"), idempotency_key="w1")
    assert entry.kind == EscrowTransaction.Kind.WITHDRAWAL
    assert available(funded_buyer) == Decimal("999.75")
    ledger_clean()


def test_the_payout_is_the_workers_once_under_the_ledger_key(
    funded_buyer, monkeypatch, django_capture_on_commit_callbacks
):
    paid = []

    class Recording:
        def payout(self, *, user_id, amount, reference):
            paid.append((user_id, amount, reference))

    monkeypatch.setattr(escrow_tasks, "payment_provider", Recording)
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.wallet_withdraw(
            user=funded_buyer, amount=usd("500.25"), idempotency_key="w1"
        )
        services.wallet_withdraw(user=funded_buyer, amount=usd("500.25"), idempotency_key="w1")
    assert paid == []  # not in the request

    run_background_tasks()

    assert paid == [(funded_buyer.pk, usd("500.25"), entry.idempotency_key)]


def test_a_refused_withdrawal_queues_no_payout(funded_buyer):
    with pytest.raises(InsufficientFunds):
        services.wallet_withdraw(user=funded_buyer, amount=usd("9999.00"), idempotency_key="w")
    assert not DBTaskResult.objects.exists()


def test_withdraw_above_the_available_balance_changes_nothing(funded_buyer, ledger_clean):
    with pytest.raises(InsufficientFunds) as refusal:
        services.wallet_withdraw(user=funded_buyer, amount=usd("1500.01"), idempotency_key="w1")
    assert refusal.value.code == "insufficient_funds"
    assert refusal.value.status == 409
    assert available(funded_buyer) == Decimal("1500.00")
    assert entry_count() == 1
    ledger_clean()


def test_lock_moves_the_price_from_available_to_escrow(funded_buyer, group, ledger_clean):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )

    assert hold.amount == usd("1000.00")
    assert available(funded_buyer) == Decimal("500.00")
    assert escrow_of(funded_buyer) == Decimal("1000.00")
    assert Wallet.objects.get(user=funded_buyer).balance == usd("1500.00")
    assert group_wallet(group).escrow_balance == usd("1000.00")
    ledger_clean()


def test_lock_above_the_available_balance_changes_nothing(funded_buyer, group, ledger_clean):
    with pytest.raises(InsufficientFunds) as refusal:
        services.escrow_lock(
            buyer=funded_buyer, group=group, amount=usd("1500.01"), idempotency_key="l1"
        )
    assert "1500.00" in refusal.value.message
    assert available(funded_buyer) == Decimal("1500.00")
    assert escrow_of(funded_buyer) == Decimal("0.00")
    assert entry_count() == 1
    ledger_clean()


def test_lock_retry_returns_the_same_hold(funded_buyer, group, ledger_clean):
    first = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("600.00"), idempotency_key="l1"
    )
    again = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("600.00"), idempotency_key="l1"
    )
    assert again.pk == first.pk
    assert available(funded_buyer) == Decimal("900.00")
    ledger_clean()


def test_release_pays_platform_leader_and_members_exactly(
    funded_buyer, group, members, ledger_clean
):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )

    legs = services.escrow_release(
        hold=hold, leader=group.leader, members=participants(group, members), rates=STANDARD,
        idempotency_key="r1",
    )  # fmt: skip

    assert sum(leg.amount.amount for leg in legs) == Decimal("1000.00")
    assert platform_revenue() == Decimal("100.00")
    assert available(group.leader) == Decimal("320.00")  # 30.00 commission + 290.00 share
    assert [available(member) for member in members] == [Decimal("290.00"), Decimal("290.00")]
    assert available(funded_buyer) == Decimal("500.00")
    assert escrow_of(funded_buyer) == Decimal("0.00")
    assert group_wallet(group).escrow_balance == usd("0.00")
    assert group_wallet(group).total_escrow_received == usd("900.00")
    ledger_clean()


def test_release_gives_leftover_cents_to_the_earliest_joiners(
    funded_buyer, group, members, ledger_clean
):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("100.01"), idempotency_key="l1"
    )
    services.escrow_release(
        hold=hold, leader=group.leader, members=participants(group, members), rates=STANDARD,
        idempotency_key="r1",
    )  # fmt: skip
    # fee 10.00, commission 3.00, pool 87.01 → 29.01, 29.00, 29.00
    assert platform_revenue() == Decimal("10.00")
    assert available(group.leader) == Decimal("32.01")
    assert [available(member) for member in members] == [Decimal("29.00"), Decimal("29.00")]
    ledger_clean()


def test_release_with_no_member_left_gives_the_pool_to_the_leader(
    funded_buyer, group, ledger_clean
):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("200.00"), idempotency_key="l1"
    )
    services.escrow_release(
        hold=hold, leader=group.leader, members=[], rates=STANDARD, idempotency_key="r1"
    )
    assert platform_revenue() == Decimal("20.00")
    assert available(group.leader) == Decimal("180.00")
    ledger_clean()


def test_release_twice_under_one_key_has_one_effect(funded_buyer, group, members, ledger_clean):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )
    kwargs = {"leader": group.leader, "members": participants(group, members), "rates": STANDARD}
    first = services.escrow_release(hold=hold, idempotency_key="r1", **kwargs)
    again = services.escrow_release(hold=hold, idempotency_key="r1", **kwargs)
    assert [leg.pk for leg in again] == [leg.pk for leg in first]
    assert platform_revenue() == Decimal("100.00")
    ledger_clean()


def test_release_of_an_empty_hold_is_refused(funded_buyer, group, members, ledger_clean):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )
    services.escrow_refund(hold=hold, idempotency_key="refund")
    count = entry_count()
    with pytest.raises(EscrowNotHeld) as refusal:
        services.escrow_release(
            hold=hold, leader=group.leader, members=members, rates=STANDARD, idempotency_key="r1"
        )
    assert refusal.value.code == "escrow_not_held"
    assert entry_count() == count
    assert available(funded_buyer) == Decimal("1500.00")
    ledger_clean()


def test_refund_returns_the_whole_hold_to_the_buyer(funded_buyer, group, ledger_clean):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("999.99"), idempotency_key="l1"
    )
    services.escrow_refund(hold=hold, idempotency_key="refund")
    assert available(funded_buyer) == Decimal("1500.00")
    assert escrow_of(funded_buyer) == Decimal("0.00")
    assert group_wallet(group).escrow_balance == usd("0.00")
    assert group_wallet(group).total_escrow_received == usd("0.00")
    assert platform_revenue() == Decimal("0.00")
    ledger_clean()


def test_settle_refunds_part_and_releases_the_rest_under_the_rates(
    funded_buyer, group, members, ledger_clean
):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )
    services.escrow_settle(
        hold=hold, refund_amount=usd("250.00"), leader=group.leader,
        members=participants(group, members), rates=STANDARD, idempotency_key="s1",
    )  # fmt: skip
    # 750.00 released: fee 75.00, commission 22.50, pool 652.50 → 217.50 each
    assert available(funded_buyer) == Decimal("750.00")
    assert escrow_of(funded_buyer) == Decimal("0.00")
    assert platform_revenue() == Decimal("75.00")
    assert available(group.leader) == Decimal("240.00")
    assert [available(member) for member in members] == [Decimal("217.50"), Decimal("217.50")]
    assert group_wallet(group).total_escrow_received == usd("675.00")
    ledger_clean()


@pytest.mark.parametrize("refund", ["0.01", "1000.00", "1000.01"])
def test_settle_refuses_a_refund_that_is_not_strictly_inside_the_hold(
    funded_buyer, group, members, ledger_clean, refund
):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )
    if refund == "0.01":  # the smallest valid split works
        services.escrow_settle(
            hold=hold, refund_amount=usd(refund), leader=group.leader, members=members,
            rates=STANDARD, idempotency_key="s1",
        )  # fmt: skip
        assert available(funded_buyer) == Decimal("500.01")
    else:
        with pytest.raises(InvalidSplit) as refusal:
            services.escrow_settle(
                hold=hold, refund_amount=usd(refund), leader=group.leader, members=members,
                rates=STANDARD, idempotency_key="s1",
            )  # fmt: skip
        assert refusal.value.code == "invalid_refund_amount"
        assert escrow_of(funded_buyer) == Decimal("1000.00")
    ledger_clean()


@pytest.mark.django_db(transaction=True)
def test_row_locks_refuse_to_be_taken_outside_a_transaction(funded_buyer):
    from escrow.locking import accounts_for_update

    with pytest.raises(RuntimeError):
        accounts_for_update(wallet_ids=[Wallet.objects.get(user=funded_buyer).pk])


def test_a_withdrawal_without_a_wallet_is_refused_and_opens_none(buyer):
    with pytest.raises(InsufficientFunds) as refusal:
        services.wallet_withdraw(user=buyer, amount=usd("1.00"), idempotency_key="w")
    assert refusal.value.code == "insufficient_funds"
    assert not Wallet.objects.filter(user=buyer).exists()
