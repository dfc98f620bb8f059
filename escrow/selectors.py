"""Reads of wallets and the ledger that the API and the pages share.

Reads never create accounts: a user or group without a wallet yet is shown an empty one
in the default currency.
"""

from django.conf import settings
from django.db.models import Sum
from djmoney.money import Money

from .models import EscrowTransaction, GroupWallet, Wallet
from .wallet_entries import WalletEntries


def _zero(currency: str) -> Money:
    return Money(0, currency)


def wallet_get(*, user) -> Wallet:
    """The user's wallet, or an unsaved empty one if they have none yet."""
    wallet = Wallet.objects.filter(user_id=user.pk, kind=Wallet.Kind.USER).first()
    if wallet is None:
        currency = settings.DEFAULT_CURRENCY
        wallet = Wallet(
            kind=Wallet.Kind.USER,
            user=user,
            balance=_zero(currency),
            available_balance=_zero(currency),
            escrow_balance=_zero(currency),
        )
    return wallet


def group_wallet_get(*, group) -> GroupWallet:
    """The group's wallet, or an unsaved empty one if it has none yet."""
    wallet = GroupWallet.objects.filter(group_id=group.pk).first()
    if wallet is None:
        currency = settings.DEFAULT_CURRENCY
        wallet = GroupWallet(
            group=group,
            balance=_zero(currency),
            available_balance=_zero(currency),
            escrow_balance=_zero(currency),
            total_escrow_received=_zero(currency),
        )
    return wallet


def member_shares_paid(*, hold_id: int, user_id: int) -> Money | None:
    """What left the hold for the user's wallet as member shares, read from the ledger;
    None when nothing did."""
    totals = (
        EscrowTransaction.objects.filter(
            from_hold_id=hold_id,
            to_wallet__user_id=user_id,
            kind=EscrowTransaction.Kind.MEMBER_SHARE,
        )
        .values("amount_currency")
        .annotate(total=Sum("amount"))
        .order_by("amount_currency")
    )
    row = next(iter(totals), None)  # a hold holds one currency
    return None if row is None else Money(row["total"], row["amount_currency"])


def wallet_transaction_list(*, wallet: Wallet) -> WalletEntries:
    """Ledger entries that touch the wallet, newest first: money into or out of it, and
    money leaving or entering the escrow holds it funded as a buyer, each with its
    `direction` and seal (`escrow.wallet_entries`)."""
    return WalletEntries(wallet)


class Receipt:
    """What one user's wallet received from a set of ledger entries, in posting order."""

    def __init__(self, user, entries: list[EscrowTransaction]):
        self.user = user
        self.entries = entries

    @property
    def total(self) -> Money:
        return sum((entry.amount for entry in self.entries), _zero(self.entries[0].amount_currency))

    @property
    def refund(self) -> bool:
        """Every entry gives the buyer's own money back (nothing was earned)."""
        return all(entry.kind == EscrowTransaction.Kind.REFUND for entry in self.entries)


def user_receipts(*, entries) -> list[Receipt]:
    """Who received money in `entries` (what a release, refund or split posted): one
    `Receipt` per user wallet, users loaded, in the order of each wallet's first entry.
    The platform's account and the holds are left out."""
    received: dict[int, list[EscrowTransaction]] = {}
    for entry in entries:
        if entry.to_wallet_id is not None:
            received.setdefault(entry.to_wallet_id, []).append(entry)
    wallets = Wallet.objects.select_related("user").filter(
        pk__in=list(received), kind=Wallet.Kind.USER
    )
    users = {wallet.pk: wallet.user for wallet in wallets}
    return [
        Receipt(users[wallet_id], its_entries)
        for wallet_id, its_entries in received.items()
        if wallet_id in users
    ]


def user_receipt(*, entries, user) -> Receipt | None:
    """What `user`'s own wallet received in `entries`, as `user_receipts` counts it, read
    from the recipients the entries carry (`holds_payouts` loads them): no query. None
    when nothing came to them."""
    mine = [
        entry
        for entry in entries
        if entry.to_wallet_id is not None
        and entry.to_wallet.kind == Wallet.Kind.USER
        and entry.to_wallet.user_id == user.pk
    ]
    return Receipt(user, mine) if mine else None
