"""The money use cases. Every write to the ledger goes through one of these.

Each runs in one `transaction.atomic()`, locks its accounts in the global order of
`escrow.locking`, then looks for an earlier run under the same idempotency key (and
replays it), then checks, and only then posts. A refusal raises a `DomainError` before
anything is written.
"""

import logging
import uuid
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from djmoney.money import Money

from . import ledger
from .errors import (
    CurrencyMismatch,
    EscrowNotHeld,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidSplit,
)
from .locking import lock_accounts
from .models import EscrowHold, EscrowTransaction, GroupWallet, Wallet
from .money import Rates, fee_breakdown, split_pool
from .payments import payment_provider

logger = logging.getLogger("escrow.operations")
Kind = EscrowTransaction.Kind


# --- accounts -----------------------------------------------------------------------


def _zero_balances(currency: str, *columns: str) -> dict[str, Money]:
    # Money values, not `<column>_currency` keys: the fields' USD default would win.
    return {column: Money(0, currency) for column in columns}


def wallet_for_user(*, user, currency: str = "USD") -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(
        user=user,
        defaults={
            "kind": Wallet.Kind.USER,
            **_zero_balances(currency, "balance", "available_balance", "escrow_balance"),
        },
    )
    return wallet


def wallet_for_group(*, group, currency: str = "USD") -> GroupWallet:
    wallet, _ = GroupWallet.objects.get_or_create(
        group=group,
        defaults=_zero_balances(
            currency, "balance", "available_balance", "escrow_balance", "total_escrow_received"
        ),
    )
    return wallet


def system_wallet(*, kind: str, currency: str) -> Wallet:
    """The platform's revenue account or the external world's, one per currency."""
    wallet = Wallet.objects.filter(kind=kind, balance_currency=currency).first()
    if wallet is None:
        try:
            with transaction.atomic():
                wallet = Wallet.objects.create(
                    kind=kind,
                    **_zero_balances(currency, "balance", "available_balance", "escrow_balance"),
                )
        except IntegrityError:  # created concurrently: the unique constraint holds one
            wallet = Wallet.objects.get(kind=kind, balance_currency=currency)
    return wallet


# --- helpers ------------------------------------------------------------------------


def _replay(key: str, *, matches) -> list[EscrowTransaction] | None:
    """The legs an earlier call under `key` wrote, if any; refuse a key reused for
    something else. Called after locking, so a concurrent first call has committed."""
    legs = list(EscrowTransaction.objects.filter(idempotency_key=key).order_by("leg"))
    if not legs:
        return None
    if not matches(legs):
        raise IdempotencyKeyReused(
            f"Idempotency key {key!r} was already used for another operation."
        )
    return legs


def _require_currency(amount: Money, *accounts) -> None:
    for account in accounts:
        if account.currency != str(amount.currency):
            raise CurrencyMismatch(f"{account} holds {account.currency}, not {amount.currency}.")


def _require_available(wallet: Wallet, amount: Money, what: str) -> None:
    if wallet.available_balance < amount:
        raise InsufficientFunds(
            f"Available balance {wallet.available_balance.amount} {wallet.currency} "
            f"is below {what} {amount.amount} {amount.currency}."
        )


def _log(operation: str, *, key: str, actor, legs: list[EscrowTransaction], **fields) -> None:
    logger.info(
        "%s ok",
        operation,
        extra={
            "operation": operation,
            "idempotency_key": key,
            "actor_id": getattr(actor, "pk", None),
            "amounts": {leg.kind: str(leg.amount.amount) for leg in legs},
            **fields,
        },
    )


def _lock_hold(hold_id: int, *extra_wallet_ids: int):
    """Lock a hold, its buyer's wallet, any other wallets and its group wallet, and wire
    the locked instances together so every change lands on one object."""
    hold = EscrowHold.objects.get(pk=hold_id)
    holds, wallets, group_wallets = lock_accounts(
        hold_ids=[hold.pk],
        wallet_ids=[hold.buyer_wallet_id, *extra_wallet_ids],
        group_wallet_ids=[hold.group_wallet_id],
    )
    hold = holds[hold.pk]
    hold.buyer_wallet = wallets[hold.buyer_wallet_id]
    hold.group_wallet = group_wallets[hold.group_wallet_id]
    return hold, wallets


def new_key() -> str:
    return uuid.uuid4().hex


# --- deposits and withdrawals -------------------------------------------------------


def wallet_deposit(*, user, amount: Money, idempotency_key: str, actor=None) -> EscrowTransaction:
    """Charge the payment provider and credit the user's available balance."""
    wallet = wallet_for_user(user=user, currency=str(amount.currency))
    _require_currency(amount, wallet)
    provider = payment_provider()
    # The charge happens before any lock: no provider call while a wallet row is locked.
    reference = provider.charge(user_id=user.pk, amount=amount, idempotency_key=idempotency_key)
    external = system_wallet(kind=Wallet.Kind.EXTERNAL, currency=str(amount.currency))
    with transaction.atomic():
        _, wallets, _ = lock_accounts(wallet_ids=[wallet.pk])
        wallet = wallets[wallet.pk]
        replayed = _replay(
            idempotency_key,
            matches=lambda legs: (
                legs[0].kind == Kind.DEPOSIT
                and legs[0].to_wallet_id == wallet.pk
                and legs[0].amount == amount
            ),
        )
        if replayed:
            return replayed[0]
        (entry,) = ledger.post(
            [ledger.Leg(Kind.DEPOSIT, amount, external, wallet, memo=reference)],
            idempotency_key=idempotency_key,
            actor=actor or user,
        )
        _log(
            "wallet.deposit",
            key=idempotency_key,
            actor=actor or user,
            legs=[entry],
            wallet=wallet.pk,
        )
        return entry


def wallet_withdraw(*, user, amount: Money, idempotency_key: str, actor=None) -> EscrowTransaction:
    """Take `amount` out of the available balance as a payout request; the provider is
    asked to pay it out once the transaction has committed."""
    wallet = wallet_for_user(user=user, currency=str(amount.currency))
    _require_currency(amount, wallet)
    external = system_wallet(kind=Wallet.Kind.EXTERNAL, currency=str(amount.currency))
    with transaction.atomic():
        _, wallets, _ = lock_accounts(wallet_ids=[wallet.pk])
        wallet = wallets[wallet.pk]
        replayed = _replay(
            idempotency_key,
            matches=lambda legs: (
                legs[0].kind == Kind.WITHDRAWAL
                and legs[0].from_wallet_id == wallet.pk
                and legs[0].amount == amount
            ),
        )
        if replayed:
            return replayed[0]
        _require_available(wallet, amount, "the withdrawal of")
        (entry,) = ledger.post(
            [ledger.Leg(Kind.WITHDRAWAL, amount, wallet, external, memo="Payout requested")],
            idempotency_key=idempotency_key,
            actor=actor or user,
        )
        transaction.on_commit(
            lambda: payment_provider().payout(
                user_id=user.pk, amount=amount, reference=idempotency_key
            )
        )
        _log(
            "wallet.withdraw",
            key=idempotency_key,
            actor=actor or user,
            legs=[entry],
            wallet=wallet.pk,
        )
        return entry


# --- escrow -------------------------------------------------------------------------


def escrow_lock(*, buyer, group, amount: Money, idempotency_key: str, actor=None) -> EscrowHold:
    """Move `amount` from the buyer's available balance into a new hold for `group`."""
    buyer_wallet = wallet_for_user(user=buyer, currency=str(amount.currency))
    group_wallet = wallet_for_group(group=group, currency=str(amount.currency))
    _require_currency(amount, buyer_wallet, group_wallet)
    with transaction.atomic():
        _, wallets, group_wallets = lock_accounts(
            wallet_ids=[buyer_wallet.pk], group_wallet_ids=[group_wallet.pk]
        )
        replayed = _replay(
            idempotency_key,
            matches=lambda legs: (
                legs[0].kind == Kind.LOCK
                and legs[0].from_wallet_id == buyer_wallet.pk
                and legs[0].amount == amount
            ),
        )
        if replayed:
            return replayed[0].to_hold
        buyer_wallet = wallets[buyer_wallet.pk]
        _require_available(buyer_wallet, amount, "the price")
        hold = EscrowHold.objects.create(
            buyer_wallet=buyer_wallet,
            group_wallet=group_wallets[group_wallet.pk],
            amount=Money(0, amount.currency),
        )
        legs = ledger.post(
            [ledger.Leg(Kind.LOCK, amount, buyer_wallet, hold)],
            idempotency_key=idempotency_key,
            actor=actor or buyer,
        )
        _log("escrow.lock", key=idempotency_key, actor=actor or buyer, legs=legs, hold=hold.pk)
        return hold


def _payout_legs(
    hold: EscrowHold,
    amount: Money,
    *,
    leader_wallet: Wallet,
    member_wallets: Sequence[Wallet],
    platform: Wallet,
    rates: Rates,
) -> list[ledger.Leg]:
    """Distribute `amount` out of the hold: platform fee, leader commission, member shares.
    With no member left to share the pool, it goes to the leader."""
    breakdown = fee_breakdown(amount, rates)
    legs = [
        ledger.Leg(Kind.PLATFORM_FEE, breakdown.platform_fee, hold, platform),
        ledger.Leg(Kind.LEADER_COMMISSION, breakdown.leader_commission, hold, leader_wallet),
    ]
    sharers = list(member_wallets) or [leader_wallet]
    shares = split_pool(breakdown.member_pool, len(sharers))
    legs += [
        ledger.Leg(Kind.MEMBER_SHARE, share, hold, wallet)
        for wallet, share in zip(sharers, shares, strict=True)
    ]
    return [leg for leg in legs if leg.amount.amount > 0]


def _release_matches(hold: EscrowHold):
    return lambda legs: all(leg.from_hold_id == hold.pk for leg in legs)


def _payees(leader, members, currency: str) -> tuple[int, list[int], Wallet]:
    """Wallet ids of the leader and members, and the platform account: created if need be
    before any lock is taken."""
    leader_wallet = wallet_for_user(user=leader, currency=currency)
    member_wallets = [wallet_for_user(user=member, currency=currency) for member in members]
    platform = system_wallet(kind=Wallet.Kind.PLATFORM, currency=currency)
    return leader_wallet.pk, [wallet.pk for wallet in member_wallets], platform


def escrow_release(
    *,
    hold: EscrowHold,
    leader,
    members: Sequence,
    rates: Rates,
    idempotency_key: str,
    actor=None,
) -> list[EscrowTransaction]:
    """Release everything in the hold: 10 % platform, 3 % leader, 87 % among `members`
    (in order of joining; the first ones get the leftover cents)."""
    leader_id, member_ids, platform = _payees(leader, members, hold.amount_currency)
    with transaction.atomic():
        hold, wallets = _lock_hold(hold.pk, leader_id, *member_ids)
        replayed = _replay(idempotency_key, matches=_release_matches(hold))
        if replayed:
            return replayed
        if hold.amount.amount <= 0:
            raise EscrowNotHeld(f"Escrow hold #{hold.pk} holds nothing: it was already paid out.")
        legs = ledger.post(
            _payout_legs(
                hold,
                hold.amount,
                leader_wallet=wallets[leader_id],
                member_wallets=[wallets[pk] for pk in member_ids],
                platform=platform,
                rates=rates,
            ),
            idempotency_key=idempotency_key,
            actor=actor,
        )
        _log("escrow.release", key=idempotency_key, actor=actor, legs=legs, hold=hold.pk)
        return legs


def escrow_refund(*, hold: EscrowHold, idempotency_key: str, actor=None) -> list[EscrowTransaction]:
    """Give everything in the hold back to the buyer's available balance."""
    with transaction.atomic():
        hold, _ = _lock_hold(hold.pk)
        replayed = _replay(idempotency_key, matches=_release_matches(hold))
        if replayed:
            return replayed
        if hold.amount.amount <= 0:
            raise EscrowNotHeld(f"Escrow hold #{hold.pk} holds nothing: it was already paid out.")
        legs = ledger.post(
            [ledger.Leg(Kind.REFUND, hold.amount, hold, hold.buyer_wallet)],
            idempotency_key=idempotency_key,
            actor=actor,
        )
        _log("escrow.refund", key=idempotency_key, actor=actor, legs=legs, hold=hold.pk)
        return legs


def escrow_settle(
    *,
    hold: EscrowHold,
    refund_amount: Money,
    leader,
    members: Sequence,
    rates: Rates,
    idempotency_key: str,
    actor=None,
) -> list[EscrowTransaction]:
    """Split a hold: `refund_amount` back to the buyer, the rest released under `rates`."""
    leader_id, member_ids, platform = _payees(leader, members, hold.amount_currency)
    with transaction.atomic():
        hold, wallets = _lock_hold(hold.pk, leader_id, *member_ids)
        replayed = _replay(idempotency_key, matches=_release_matches(hold))
        if replayed:
            return replayed
        _require_currency(refund_amount, hold.buyer_wallet)
        if hold.amount.amount <= 0:
            raise EscrowNotHeld(f"Escrow hold #{hold.pk} holds nothing: it was already paid out.")
        if not Money(0, hold.amount.currency) < refund_amount < hold.amount:
            raise InvalidSplit(
                f"A split refunds more than 0 and less than the {hold.amount.amount} "
                f"{hold.amount.currency} held."
            )
        released = hold.amount - refund_amount
        legs = ledger.post(
            [
                ledger.Leg(Kind.REFUND, refund_amount, hold, hold.buyer_wallet),
                *_payout_legs(
                    hold,
                    released,
                    leader_wallet=wallets[leader_id],
                    member_wallets=[wallets[pk] for pk in member_ids],
                    platform=platform,
                    rates=rates,
                ),
            ],
            idempotency_key=idempotency_key,
            actor=actor,
        )
        _log("escrow.settle", key=idempotency_key, actor=actor, legs=legs, hold=hold.pk)
        return legs
