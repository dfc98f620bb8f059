"""Posting entries: the one place that writes `EscrowTransaction` rows and keeps the
cached balances in step with them.

Callers (the services) hold row locks on every account they pass in, have made all
their checks, and post inside one transaction. An account is a user wallet, a group
wallet, an escrow hold, or a system wallet (platform, external) whose balance is not
cached.

A posting that would take a cached balance past what its column holds (numeric(15,2),
see `escrow.models.BALANCE`) is refused with `BalanceLimitExceeded` (409
`balance_limit_exceeded`) before anything is written, rather than failing in the
database half-way. Every user whose wallet a posting changed is told after commit
(`escrow.events`), whatever the operation was.
"""

from dataclasses import dataclass
from decimal import Decimal

from djmoney.models.fields import MoneyField
from djmoney.money import Money

from marketplace.core.formats import money_text

from . import events
from .errors import BalanceLimitExceeded
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
    """Write the legs of one operation under one key and update the cached balances.

    Refuses with `BalanceLimitExceeded`, writing nothing, when a cached balance would
    exceed its column's maximum (the caller's transaction then rolls back)."""
    touched = _touched(legs)
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
    for account in touched:
        for field in _balance_fields(type(account)):
            _require_fits(field, getattr(account, field.name), account)
    EscrowTransaction.objects.bulk_create(entries)
    for account in touched:
        account.save(update_fields=[field.name for field in _balance_fields(type(account))])
    events.wallets_changed(
        account for account in touched if isinstance(account, Wallet) and account.caches_balance
    )
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


def _balance_fields(model) -> list[MoneyField]:
    return [field for field in model._meta.concrete_fields if isinstance(field, MoneyField)]


def column_maximum(field: MoneyField) -> Decimal:
    """The largest amount a money column holds: 9 999 999 999 999.99 for numeric(15,2)."""
    places = field.decimal_places
    return Decimal(10) ** (field.max_digits - places) - Decimal(1).scaleb(-places)


def _require_fits(field: MoneyField, value: Money, account: Account) -> None:
    limit = column_maximum(field)
    if value.amount > limit:
        raise BalanceLimitExceeded(
            f"The {field.name.replace('_', ' ')} of {account._meta.verbose_name} "
            f"#{account.pk} would reach {money_text(value)}, above the "
            f"{money_text(Money(limit, value.currency))} a balance can hold."
        )


def require_room(wallet: Wallet, amount: Money) -> None:
    """Refuse up front what `post` would refuse when crediting `amount` to `wallet`: a
    deposit asks before it charges the provider, which it must not do for nothing."""
    _require_fits(Wallet._meta.get_field("balance"), wallet.balance + amount, wallet)
