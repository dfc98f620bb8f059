"""Cached balances are numeric(15,2): at most 9 999 999 999 999.99. A posting that would
take any of them past it is refused with 409 `balance_limit_exceeded` before anything is
written, instead of a database error half-way (issue 10, item 5)."""

from decimal import Decimal

import pytest
from django.db.models import F
from djmoney.money import Money
from rest_framework.test import APIClient

from escrow import ledger, services
from escrow.errors import BalanceLimitExceeded
from escrow.models import EscrowHold, EscrowTransaction, GroupWallet, Wallet
from escrow.money import Rates
from escrow.reconcile import find_problems
from tests.factories import GroupFactory, UserFactory

from .conftest import usd

pytestmark = pytest.mark.django_db

LIMIT = Decimal("9999999999999.99")
# The widest single ledger entry (numeric(12,2)): history is seeded in entries this big.
ENTRY_MAX = Decimal("9999999999.99")
STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))
Kind = EscrowTransaction.Kind


def chunks(total: Decimal):
    while total > 0:
        part = min(total, ENTRY_MAX)
        yield Money(part, "USD")
        total -= part


def external() -> Wallet:
    return services.system_wallet(kind=Wallet.Kind.EXTERNAL, currency="USD")


def open_accounts(*users) -> None:
    """The wallets a release pays into, opened (empty) ahead of it: the service opens
    them before it locks anything, and an empty wallet is not a change of money."""
    for user in users:
        services.wallet_get_or_open(user=user)
    services.system_wallet(kind=Wallet.Kind.PLATFORM, currency="USD")


def state() -> dict:
    """Every cached balance and the number of ledger entries."""
    return {
        "entries": EscrowTransaction.objects.count(),
        "wallets": sorted(
            Wallet.objects.values_list("pk", "balance", "available_balance", "escrow_balance")
        ),
        "groups": sorted(
            GroupWallet.objects.values_list(
                "pk", "balance", "available_balance", "escrow_balance", "total_escrow_received"
            )
        ),
        "holds": sorted(EscrowHold.objects.values_list("pk", "amount")),
    }


def seed_wallet(user, total: Decimal) -> Wallet:
    """A wallet holding `total`, with the ledger history that says so (opening balances of
    the widest entries), as if years of deposits had come in."""
    wallet = services.wallet_get_or_open(user=user)
    EscrowTransaction.objects.bulk_create(
        EscrowTransaction(
            kind=Kind.OPENING_BALANCE,
            amount=amount,
            from_wallet=external(),
            to_wallet=wallet,
            idempotency_key=f"seed-wallet-{wallet.pk}",
            leg=leg,
        )
        for leg, amount in enumerate(chunks(total))
    )
    Wallet.objects.filter(pk=wallet.pk).update(
        available_balance=F("available_balance") + total, balance=F("balance") + total
    )
    return wallet


def seed_group_history(group, buyer, payees, total: Decimal) -> None:
    """`total` paid to the group over time (its `total_escrow_received`): each part comes
    in for the buyer, is locked in a hold and paid out as a leader commission to one of
    the `payees` in turn, so that no single wallet comes near the limit."""
    buyer_wallet = services.wallet_get_or_open(user=buyer)
    group_wallet = services.group_wallet_get_or_open(group=group)
    hold = EscrowHold.objects.create(
        buyer_wallet=buyer_wallet, group_wallet=group_wallet, amount=usd("0.00")
    )
    wallets = [services.wallet_get_or_open(user=payee) for payee in payees]
    received = {wallet.pk: Decimal("0.00") for wallet in wallets}
    entries = []
    for number, amount in enumerate(chunks(total)):
        payee = wallets[number % len(wallets)]
        received[payee.pk] += amount.amount
        key = f"seed-group-{group.pk}-{number}"
        entries += [
            EscrowTransaction(
                kind=Kind.DEPOSIT,
                amount=amount,
                from_wallet=external(),
                to_wallet=buyer_wallet,
                idempotency_key=key,
                leg=0,
            ),
            EscrowTransaction(
                kind=Kind.LOCK, amount=amount, from_wallet=buyer_wallet, to_hold=hold,
                idempotency_key=key, leg=1,
            ),
            EscrowTransaction(
                kind=Kind.LEADER_COMMISSION, amount=amount, from_hold=hold, to_wallet=payee,
                idempotency_key=key, leg=2,
            ),
        ]  # fmt: skip
    EscrowTransaction.objects.bulk_create(entries)
    for pk, amount in received.items():
        Wallet.objects.filter(pk=pk).update(
            available_balance=F("available_balance") + amount, balance=F("balance") + amount
        )
    GroupWallet.objects.filter(pk=group_wallet.pk).update(
        total_escrow_received=F("total_escrow_received") + total
    )


def test_every_cached_balance_column_holds_up_to_the_limit_and_entries_stay_narrower():
    for model in (Wallet, GroupWallet, EscrowHold):
        for field in ledger._balance_fields(model):
            assert (field.max_digits, field.decimal_places) == (15, 2), field
            assert ledger.column_maximum(field) == LIMIT
    amount = EscrowTransaction._meta.get_field("amount")
    assert ledger.column_maximum(amount) == ENTRY_MAX


def test_a_wallet_fills_up_to_the_limit_and_not_a_cent_beyond(ledger_clean):
    user = UserFactory()
    seed_wallet(user, LIMIT - Decimal("0.50"))
    ledger_clean()

    services.wallet_deposit(user=user, amount=usd("0.50"), idempotency_key="to-the-brim")
    wallet = Wallet.objects.get(user=user)
    assert (wallet.balance.amount, wallet.available_balance.amount) == (LIMIT, LIMIT)
    ledger_clean()

    before = state()
    with pytest.raises(BalanceLimitExceeded) as refused:
        services.wallet_deposit(user=user, amount=usd("0.01"), idempotency_key="one-too-many")
    assert (refused.value.code, refused.value.status) == ("balance_limit_exceeded", 409)
    assert "9999999999999.99" in refused.value.message
    assert state() == before
    assert find_problems() == []


def test_a_deposit_that_would_not_fit_is_refused_before_the_provider_is_charged(charges):
    user = UserFactory()
    seed_wallet(user, LIMIT)

    with pytest.raises(BalanceLimitExceeded):
        services.wallet_deposit(user=user, amount=usd("0.01"), idempotency_key="too-much")
    assert charges == []


def test_the_api_answers_409_balance_limit_exceeded_and_changes_nothing(ledger_clean):
    user = UserFactory()
    seed_wallet(user, LIMIT - Decimal("999.99"))
    client = APIClient()
    client.force_authenticate(user)
    before = state()

    response = client.post(
        "/api/wallet/deposit", {"amount": "1000.00"}, format="json", HTTP_IDEMPOTENCY_KEY="big"
    )

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "balance_limit_exceeded"
    assert state() == before
    ledger_clean()


def test_a_release_is_refused_whole_when_one_member_wallet_would_overflow(ledger_clean):
    buyer, member = UserFactory(), UserFactory()
    group = GroupFactory(members=[member])
    seed_wallet(member, LIMIT - Decimal("100.00"))  # takes 435.00: too much
    services.wallet_deposit(user=buyer, amount=usd("1000.00"), idempotency_key="fund")
    hold = services.escrow_lock(
        buyer=buyer, group=group, amount=usd("1000.00"), idempotency_key="l"
    )
    open_accounts(group.leader, member)
    before = state()

    with pytest.raises(BalanceLimitExceeded):
        services.escrow_release(
            hold=hold,
            leader=group.leader,
            members=[group.leader, member],
            rates=STANDARD,
            idempotency_key="release",
        )

    # Nothing moved: not the platform fee, not the leader's part, not the other share.
    assert state() == before
    assert EscrowHold.objects.get(pk=hold.pk).amount == usd("1000.00")
    ledger_clean()
    # The buyer can still get the money back.
    services.escrow_refund(hold=hold, idempotency_key="refund")
    assert Wallet.objects.get(user=buyer).available_balance == usd("1000.00")
    ledger_clean()


def test_a_group_whose_total_received_would_overflow_is_refused(ledger_clean):
    buyer, m1, m2, m3 = (UserFactory() for _ in range(4))
    group = GroupFactory(members=[m1, m2, m3])
    seed_group_history(group, UserFactory(), [group.leader, m1, m2, m3], LIMIT - Decimal("500.00"))
    ledger_clean()
    services.wallet_deposit(user=buyer, amount=usd("1000.00"), idempotency_key="fund")
    hold = services.escrow_lock(
        buyer=buyer, group=group, amount=usd("1000.00"), idempotency_key="l"
    )
    open_accounts(group.leader, m1, m2, m3)
    before = state()

    # 900.00 of it would go to the group: its total received would pass the limit.
    with pytest.raises(BalanceLimitExceeded) as refused:
        services.escrow_release(
            hold=hold,
            leader=group.leader,
            members=[group.leader, m1, m2, m3],
            rates=STANDARD,
            idempotency_key="release",
        )
    assert "total escrow received" in refused.value.message
    assert state() == before
    ledger_clean()
