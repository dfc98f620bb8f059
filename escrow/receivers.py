"""Escrow's part in the core domain's events (see `marketplace.core.signals`)."""

from django.db.models import Q

from marketplace.core.errors import Conflict

from .models import EscrowHold, EscrowTransaction, GroupWallet
from .services import group_wallet_get_or_open, wallet_get_or_open


def open_user_wallet(sender, *, user, **kwargs) -> None:
    wallet_get_or_open(user=user)


def open_group_wallet(sender, *, group, **kwargs) -> None:
    group_wallet_get_or_open(group=group)


def refuse_deleting_a_group_with_money(sender, *, group, **kwargs) -> None:
    """Refused with `escrow_active` while any hold of the group still holds money, and
    with `group_has_history` once money has ever moved for it: ledger entries are never
    deleted, and they reference the group's wallet and holds. Otherwise the empty group
    wallet goes with the group."""
    # Locking the group wallet waits for a concurrent escrow lock to finish (it locks the
    # group wallet before it creates a hold) and makes the next one wait for us.
    wallet = GroupWallet.objects.select_for_update().filter(group=group).first()
    if wallet is None:
        return
    holds = EscrowHold.objects.filter(group_wallet=wallet)
    if holds.filter(amount__gt=0).exists():
        raise Conflict(
            "The group has escrow held for an active deal: finish or cancel it first.",
            code="escrow_active",
        )
    touched = EscrowTransaction.objects.filter(
        Q(from_group_wallet=wallet) | Q(to_group_wallet=wallet)
    )
    if holds.exists() or touched.exists():
        raise Conflict(
            "Money has moved for this group: its ledger history cannot be deleted.",
            code="group_has_history",
        )
    wallet.delete()
