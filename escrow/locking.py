"""Row locks on ledger accounts (`SELECT ... FOR UPDATE`), always in one global order so
that two operations never wait on each other in a cycle. In names, "lock" is money
locked in escrow (`escrow_lock`); a row lock is "for update" (`accounts_for_update`,
`proposal_for_update`).

The order: the caller's own rows first (a proposal service holds the group and the
proposal), then escrow holds by id, then user wallets by id, then group wallets by id.
The platform and external wallets are never locked: their balances are summed from the
ledger on read.
"""

from collections.abc import Iterable

from django.db import connection

from .models import EscrowHold, GroupWallet, Wallet


def require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("Money services must run inside transaction.atomic().")


def _for_update(model, ids: Iterable[int]) -> dict[int, object]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    return {
        row.pk: row for row in model.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }


def accounts_for_update(
    *,
    hold_ids: Iterable[int] = (),
    wallet_ids: Iterable[int] = (),
    group_wallet_ids: Iterable[int] = (),
) -> tuple[dict[int, EscrowHold], dict[int, Wallet], dict[int, GroupWallet]]:
    """Lock the given accounts in the global order and return them fresh from the database."""
    require_transaction()
    holds = _for_update(EscrowHold, hold_ids)
    wallets = _for_update(Wallet, wallet_ids)
    group_wallets = _for_update(GroupWallet, group_wallet_ids)
    return holds, wallets, group_wallets
