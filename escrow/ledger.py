"""Posting entries: the one place that writes `EscrowTransaction` rows and keeps the
cached balances in step with them.

Callers (the services) hold row locks on every account they pass in, have made all
their checks, and post inside one transaction. An account is a user wallet, a group
wallet, an escrow hold, or a system wallet (platform, external) whose balance is not
cached.
"""

from dataclasses import dataclass

from djmoney.money import Money

from .models import EscrowHold, EscrowTransaction, GroupWallet, Wallet

Account = Wallet | GroupWallet | EscrowHold

_SIDE_FIELD = {Wallet: "wallet", GroupWallet: "group_wallet", EscrowHold: "hold"}
# What leaves a hold to these kinds counts as paid to the group.
_PAID_TO_GROUP = {EscrowTransaction.Kind.LEADER_COMMISSION, EscrowTransaction.Kind.MEMBER_SHARE}


@dataclass(frozen=True)
class Leg:
    kind: str
    amount: Money
    source: Account
    destination: Account
    memo: str = ""


def post(legs: list[Leg], *, idempotency_key: str, actor=None) -> list[EscrowTransaction]:
    """Write the legs of one operation under one key and update the cached balances."""
    entries = []
    for number, leg in enumerate(legs):
        entry = EscrowTransaction(
            kind=leg.kind,
            amount=leg.amount,
            actor=actor,
            idempotency_key=idempotency_key,
            leg=number,
            memo=leg.memo,
        )
        setattr(entry, f"from_{_SIDE_FIELD[type(leg.source)]}", leg.source)
        setattr(entry, f"to_{_SIDE_FIELD[type(leg.destination)]}", leg.destination)
        entries.append(entry)
        _move(leg.source, -leg.amount.amount, leg.kind)
        _move(leg.destination, leg.amount.amount, leg.kind)
    EscrowTransaction.objects.bulk_create(entries)
    for account in _touched(legs):
        account.save()
    return entries


def _move(account: Account, delta, kind: str) -> None:
    if isinstance(account, EscrowHold):
        account.amount += Money(delta, account.amount.currency)
        # The hold's money is shown as escrow on the buyer's and the group's wallets.
        buyer, group = account.buyer_wallet, account.group_wallet
        buyer.escrow_balance += Money(delta, buyer.currency)
        buyer.balance += Money(delta, buyer.currency)
        group.escrow_balance += Money(delta, group.currency)
        if delta < 0 and kind in _PAID_TO_GROUP:
            group.total_escrow_received += Money(-delta, group.currency)
    elif isinstance(account, GroupWallet) or account.caches_balance:
        account.available_balance += Money(delta, account.currency)
        account.balance += Money(delta, account.currency)


def _touched(legs: list[Leg]) -> list[Account]:
    """Every cached account the legs changed, each once (holds bring their wallets)."""
    seen: dict[tuple[type, int], Account] = {}
    for leg in legs:
        for account in (leg.source, leg.destination):
            if isinstance(account, EscrowHold):
                related = [account, account.buyer_wallet, account.group_wallet]
            elif isinstance(account, Wallet) and not account.caches_balance:
                related = []
            else:
                related = [account]
            for item in related:
                known = seen.setdefault((type(item), item.pk), item)
                if known is not item:
                    raise RuntimeError(
                        f"Two copies of {item!r} in one operation: wire one instance."
                    )
    return list(seen.values())
