"""A wallet's entries read side by side (`escrow.wallet_entries`) are exactly the entries
the plain definition names (into or out of the wallet, into or out of the holds it
funded as a buyer), each once, in the same order, on every page, with the same balances
before any moment."""

from decimal import Decimal
from functools import reduce
from operator import or_

import pytest
from django.db.models import Q

from escrow.models import EscrowHold, EscrowTransaction, GroupWallet, Wallet
from escrow.wallet_entries import WalletEntries
from proposals.models import Proposal
from tests.proposals.factories import bring_to, fund, make_team

pytestmark = pytest.mark.django_db


def plainly(wallet: Wallet) -> list[int]:
    """The entries touching the wallet by the one-condition definition, newest first."""
    holds = EscrowHold.objects.filter(buyer_wallet=wallet).values("pk")
    touching = reduce(
        or_,
        [
            Q(to_wallet=wallet),
            Q(from_wallet=wallet),
            Q(to_hold__in=holds),
            Q(from_hold__in=holds),
        ],
    )
    return list(
        EscrowTransaction.objects.filter(touching)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )


@pytest.fixture
def busy_buyer(ledger_clean):
    """A buyer with deposits, a release (lock + five legs), a cancelled deal refunded and
    money still held: every side, and entries that touch two sides at once (a lock leaves
    the wallet for its hold; a refund leaves the hold for the wallet)."""
    team = make_team(members=3, deposit="3000.00")
    bring_to(team, Proposal.Status.COMPLETED, price="350.00")
    bring_to(team, Proposal.Status.CANCELLED, price="200.00")
    bring_to(team, Proposal.Status.DELIVERED, price="99.99")
    fund(team.buyer, "12.34")
    ledger_clean()
    return Wallet.objects.get(user=team.buyer)


def test_every_entry_once_in_order_on_every_page(busy_buyer):
    expected = plainly(busy_buyer)
    entries = WalletEntries(busy_buyer)

    assert entries.count() == len(expected) >= 10
    for size in (1, 3, 4, 25):
        paged = [
            entry.pk
            for start in range(0, len(expected), size)
            for entry in entries[start : start + size]
        ]
        assert paged == expected, size
    assert [entry.pk for entry in entries.oldest_first()] == expected[::-1]


def test_each_entry_says_which_way_its_money_went(busy_buyer):
    for entry in WalletEntries(busy_buyer)[0:50]:
        arrives = entry.to_wallet_id == busy_buyer.pk
        assert entry.direction == ("in" if arrives else "out"), entry


def test_balances_before_any_entry_add_up_to_the_statement(busy_buyer):
    entries = list(WalletEntries(busy_buyer).select_related("from_hold", "to_hold").oldest_first())
    available = escrow = Decimal("0.00")
    for entry in entries:
        assert WalletEntries(busy_buyer).balances_before(entry.created_at) == (available, escrow)
        amount = entry.amount.amount
        available += (entry.to_wallet_id == busy_buyer.pk) * amount
        available -= (entry.from_wallet_id == busy_buyer.pk) * amount
        escrow += (
            entry.to_hold_id is not None and entry.to_hold.buyer_wallet_id == busy_buyer.pk
        ) * amount
        escrow -= (
            entry.from_hold_id is not None and entry.from_hold.buyer_wallet_id == busy_buyer.pk
        ) * amount
    busy_buyer.refresh_from_db()
    assert available == busy_buyer.available_balance.amount
    assert escrow == busy_buyer.escrow_balance.amount


def test_a_group_wallets_balances_before_any_entry_add_up(busy_buyer):
    group_wallet = GroupWallet.objects.get()
    entries = WalletEntries(group_wallet).select_related("from_hold", "to_hold")
    available = escrow = Decimal("0.00")
    for entry in entries.oldest_first():
        assert entries.balances_before(entry.created_at) == (available, escrow)
        available_change, escrow_change = entries.changes(entry)
        available += available_change
        escrow += escrow_change
    group_wallet.refresh_from_db()
    assert (available, escrow) == (
        group_wallet.available_balance.amount,
        group_wallet.escrow_balance.amount,
    )
    assert escrow == Decimal("99.99")  # the delivered deal's, still held


def test_a_wallet_not_yet_opened_has_no_entries():
    wallet = Wallet()

    entries = WalletEntries(wallet)

    assert entries.count() == 0
    assert entries[0:25] == []
    assert list(entries.oldest_first()) == []
    assert entries.balances_before(None) == (Decimal("0.00"), Decimal("0.00"))
