"""The money use cases. Every write to the ledger goes through one of these.

Each runs in one `transaction.atomic()`, locks its accounts in the global order of
`escrow.locking`, then looks for an earlier run under the same idempotency key (and
replays it), then checks, and only then posts. A refusal raises a `DomainError` before
anything is written. Who may call a service is decided inside it:

- `wallet_deposit`, `wallet_withdraw`: the wallet's own user (the callers pass the
  signed-in user; nobody else's wallet can be named).
- `wallet_adjust`: the finance role, never on the adjuster's own wallet.
- `escrow_lock`, `escrow_release`, `escrow_refund`, `escrow_settle`: no caller of their
  own. They are the ledger's half of a proposal transition, and only
  `proposals.transitions` calls them, after the transition table's role check (buyer,
  leader, support or finance, never a party to the case).

Idempotency keys are namespaced here, never by the callers: the ledger stores a caller's
key as `<operation>/<account>/<key>` (`withdraw/w17/…`, `release/h4/…`), where the
account is the one the operation acts on and has locked. No caller's key (a form
field, an API header, a job's) can name another account's or another operation's
entries, so nobody can block or replay anybody else's money. Within one namespace the
same key with another body is 409 `idempotency_key_reused`, never a replay.
"""

import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from djmoney.money import Money

from marketplace.core.errors import DomainError, InvalidInput
from marketplace.core.roles import require_staff_power

from . import ledger, metrics
from .errors import (
    CurrencyMismatch,
    EscrowNotHeld,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidSplit,
)
from .locking import accounts_for_update
from .models import EscrowHold, EscrowTransaction, GroupWallet, Wallet
from .money import Rates, distribute, parse_amount
from .payments import payment_provider
from .tasks import withdrawal_payout

logger = logging.getLogger("escrow.operations")
Kind = EscrowTransaction.Kind


# --- accounts -----------------------------------------------------------------------


def _zero_balances(currency: str, *columns: str) -> dict[str, Money]:
    # Money values, not `<column>_currency` keys: the fields' USD default would win.
    return {column: Money(0, currency) for column in columns}


def wallet_get_or_open(*, user, currency: str = "USD") -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(
        user=user,
        defaults={
            "kind": Wallet.Kind.USER,
            **_zero_balances(currency, "balance", "available_balance", "escrow_balance"),
        },
    )
    return wallet


def wallets_get_or_open(*, users, currency: str = "USD") -> dict[int, Wallet]:
    """`wallet_get_or_open` for several users at once, by user id: one query when every
    wallet exists (the usual case of a payout), two more when some must be opened."""
    user_ids = {user.pk for user in users}
    wallets = {wallet.user_id: wallet for wallet in Wallet.objects.filter(user_id__in=user_ids)}
    missing = user_ids - wallets.keys()
    if missing:
        zero = _zero_balances(currency, "balance", "available_balance", "escrow_balance")
        Wallet.objects.bulk_create(
            [Wallet(user_id=user_id, kind=Wallet.Kind.USER, **zero) for user_id in missing],
            ignore_conflicts=True,  # opened meanwhile by a concurrent request
        )
        wallets.update(
            (wallet.user_id, wallet) for wallet in Wallet.objects.filter(user_id__in=missing)
        )
    return wallets


def group_wallet_get_or_open(*, group, currency: str = "USD") -> GroupWallet:
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

MAX_KEY_LENGTH = 150
_ACCOUNT_PREFIX = {Wallet: "w", GroupWallet: "g", EscrowHold: "h"}


def _ledger_key(operation: str, account, key: str) -> str:
    """The ledger's key for the caller's `key` to `operation` on `account` (see the
    module's docstring)."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            f"An idempotency key is 1 to {MAX_KEY_LENGTH} printable characters.",
            code="invalid_idempotency_key",
        )
    return f"{operation}/{_ACCOUNT_PREFIX[type(account)]}{account.pk}/{key}"


def _replay(key: str, *, matches=None) -> list[EscrowTransaction] | None:
    """The legs an earlier call under the ledger key `key` wrote, if any; refuse a key
    reused with another body (`matches` is False). Called after locking, so a concurrent
    first call has committed; deposits also call it before charging."""
    legs = list(EscrowTransaction.objects.filter(idempotency_key=key).order_by("leg"))
    if not legs:
        return None
    if matches is not None and not matches(legs):
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
    """Log and count the posted operation once its transaction commits: a caller that
    rolls back leaves no "ok" for money that never moved."""
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for leg in legs:  # a release has one member_share leg per member: their sum
        amounts[leg.kind] += leg.amount.amount
    extra = {
        "operation": operation,
        "outcome": "ok",
        "idempotency_key": key,
        "actor_id": getattr(actor, "pk", None),
        "amounts": {kind: str(total) for kind, total in amounts.items()},
        "currency": str(legs[0].amount.currency) if legs else None,
        **fields,
    }

    def emit():
        logger.info("%s ok", operation, extra=extra)
        metrics.count_operation("ok")

    transaction.on_commit(emit, robust=True)  # a log or metrics failure fails nothing


def _refusals_logged(operation: str):
    """Log (and count) a refused call as one line with outcome "refused" and its code,
    or "error" with the exception's class when something unexpected broke; then re-raise.
    Successful calls log themselves through `_log` once their entries are posted."""

    def decorate(service):
        @functools.wraps(service)
        def wrapper(**kwargs):
            try:
                return service(**kwargs)
            except Exception as error:
                refused = isinstance(error, DomainError)
                outcome = "refused" if refused else "error"
                amount = kwargs.get("amount") or kwargs.get("refund_amount")
                hold = kwargs.get("hold")
                logger.info(
                    "%s %s",
                    operation,
                    outcome,
                    extra={
                        "operation": operation,
                        "outcome": outcome,
                        "code": error.code if refused else type(error).__name__,
                        "reason": str(error),
                        "idempotency_key": kwargs.get("idempotency_key"),
                        "actor_id": getattr(kwargs.get("actor") or kwargs.get("user"), "pk", None),
                        "amounts": {"requested": str(amount.amount)} if amount else {},
                        "currency": str(amount.currency) if amount else None,
                        "hold": getattr(hold, "pk", None),
                    },
                )
                metrics.count_operation(outcome)
                raise

        return wrapper

    return decorate


def _hold_for_update(hold: EscrowHold, *extra_wallet_ids: int):
    """Lock a hold, its buyer's wallet, any other wallets and its group wallet, and wire
    the locked instances together so every change lands on one object. (A hold's wallets
    never change, so the caller's copy of the hold names them.)"""
    holds, wallets, group_wallets = accounts_for_update(
        hold_ids=[hold.pk],
        wallet_ids=[hold.buyer_wallet_id, *extra_wallet_ids],
        group_wallet_ids=[hold.group_wallet_id],
    )
    hold = holds[hold.pk]
    hold.buyer_wallet = wallets[hold.buyer_wallet_id]
    hold.group_wallet = group_wallets[hold.group_wallet_id]
    return hold, wallets


def _single_entry(kind: str, amount: Money):
    """A replay matcher: the earlier call posted one `kind` entry of `amount`."""
    return lambda legs: len(legs) == 1 and legs[0].kind == kind and legs[0].amount == amount


def _post_wallet_entry(
    *,
    operation: str,
    kind: str,
    wallet: Wallet,
    counterparty: Wallet,
    amount: Money,
    credit: bool,
    ledger_key: str,
    actor,
    memo: str,
    debit_label: str = "",
    **log_fields,
) -> tuple[EscrowTransaction, bool]:
    """One entry between a user's wallet and a system account, the shape of deposits,
    withdrawals and adjustments: lock the wallet, replay an earlier call under the
    (namespaced) key, refuse a debit beyond the available balance, post, log. Returns
    the entry and whether it was posted now (False: replayed)."""
    with transaction.atomic():
        _, wallets, _ = accounts_for_update(wallet_ids=[wallet.pk])
        wallet = wallets[wallet.pk]
        replayed = _replay(ledger_key, matches=_single_entry(kind, amount))
        if replayed:
            return replayed[0], False
        if not credit:
            _require_available(wallet, amount, debit_label)
        source, destination = (counterparty, wallet) if credit else (wallet, counterparty)
        (entry,) = ledger.post(
            [ledger.Leg(kind, amount, source, destination, memo=memo)],
            idempotency_key=ledger_key,
            actor=actor,
        )
        _log(
            operation,
            key=ledger_key,
            actor=actor,
            legs=[entry],
            wallet=wallet.pk,
            **log_fields,
        )
        return entry, True


def new_key() -> str:
    return uuid.uuid4().hex


# --- deposits and withdrawals -------------------------------------------------------


@_refusals_logged("wallet.deposit")
def wallet_deposit(*, user, amount: Money, idempotency_key: str, actor=None) -> EscrowTransaction:
    """Charge the payment provider and credit the user's available balance.

    The key is checked before the charge: a retry replays without charging again, and a
    key reused for another amount is refused without charging at all. The charge runs
    before the wallet is locked (no provider call while a wallet row is locked); two
    concurrent calls with one key both reach the provider under that key (which makes
    it charge once), and the second one finds the first's entry under the lock."""
    wallet = wallet_get_or_open(user=user, currency=str(amount.currency))
    _require_currency(amount, wallet)
    key = _ledger_key("deposit", wallet, idempotency_key)
    replayed = _replay(key, matches=_single_entry(Kind.DEPOSIT, amount))
    if replayed:
        return replayed[0]
    ledger.require_room(wallet, amount)
    reference = payment_provider().charge(user_id=user.pk, amount=amount, idempotency_key=key)
    external = system_wallet(kind=Wallet.Kind.EXTERNAL, currency=str(amount.currency))
    entry, _ = _post_wallet_entry(
        operation="wallet.deposit",
        kind=Kind.DEPOSIT,
        wallet=wallet,
        counterparty=external,
        amount=amount,
        credit=True,
        ledger_key=key,
        actor=actor or user,
        memo=reference,
    )
    return entry


@_refusals_logged("wallet.withdraw")
def wallet_withdraw(*, user, amount: Money, idempotency_key: str, actor=None) -> EscrowTransaction:
    """Take `amount` out of the available balance as a payout request; the task worker
    asks the provider to pay it out once the transaction has committed. A user without a
    wallet has nothing to withdraw, and a refusal opens none."""
    wallet = Wallet.objects.filter(user=user).first()
    if wallet is None:
        raise InsufficientFunds(
            f"Available balance 0.00 {amount.currency} is below the withdrawal of "
            f"{amount.amount} {amount.currency}."
        )
    _require_currency(amount, wallet)
    external = system_wallet(kind=Wallet.Kind.EXTERNAL, currency=str(amount.currency))
    key = _ledger_key("withdraw", wallet, idempotency_key)
    entry, posted = _post_wallet_entry(
        operation="wallet.withdraw",
        kind=Kind.WITHDRAWAL,
        wallet=wallet,
        counterparty=external,
        amount=amount,
        credit=False,
        ledger_key=key,
        actor=actor or user,
        memo="Payout requested",
        debit_label="the withdrawal of",
    )
    if posted:  # a replay asks for no second payout
        withdrawal_payout.enqueue(
            user_id=user.pk, amount=str(amount.amount), currency=str(amount.currency), reference=key
        )
    return entry


# --- escrow -------------------------------------------------------------------------


@_refusals_logged("escrow.lock")
def escrow_lock(*, buyer, group, amount: Money, idempotency_key: str, actor=None) -> EscrowHold:
    """Move `amount` from the buyer's available balance into a new hold for `group`.
    The key lives in the buyer wallet's namespace; a replay must name the same group."""
    buyer_wallet = wallet_get_or_open(user=buyer, currency=str(amount.currency))
    group_wallet = group_wallet_get_or_open(group=group, currency=str(amount.currency))
    _require_currency(amount, buyer_wallet, group_wallet)
    key = _ledger_key("lock", buyer_wallet, idempotency_key)
    with transaction.atomic():
        _, wallets, group_wallets = accounts_for_update(
            wallet_ids=[buyer_wallet.pk], group_wallet_ids=[group_wallet.pk]
        )
        replayed = _replay(
            key,
            matches=lambda legs: (
                _single_entry(Kind.LOCK, amount)(legs)
                and legs[0].to_hold.group_wallet_id == group_wallet.pk
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
            idempotency_key=key,
            actor=actor or buyer,
        )
        _log("escrow.lock", key=key, actor=actor or buyer, legs=legs, hold=hold.pk)
        return hold


def _payout_legs(
    hold: EscrowHold,
    amount: Money,
    *,
    leader_wallet: Wallet,
    member_wallets: Sequence[Wallet],
    platform: Wallet,
    rates: Rates,
    weights: Sequence[int] | None,
) -> list[ledger.Leg]:
    """Distribute `amount` out of the hold by the release rule (`money.distribute`)."""
    plan = distribute(amount, rates, leader=leader_wallet, members=member_wallets, weights=weights)
    legs = [
        ledger.Leg(Kind.PLATFORM_FEE, plan.platform_fee, hold, platform),
        ledger.Leg(Kind.LEADER_COMMISSION, plan.leader_commission, hold, leader_wallet),
    ]
    legs += [ledger.Leg(Kind.MEMBER_SHARE, share, hold, wallet) for wallet, share in plan.shares]
    return [leg for leg in legs if leg.amount.amount > 0]


def _payees(leader, members, currency: str) -> tuple[int, list[int], Wallet]:
    """Wallet ids of the leader and members, and the platform account: created if need be
    before any lock is taken."""
    wallets = wallets_get_or_open(users=[leader, *members], currency=currency)
    platform = system_wallet(kind=Wallet.Kind.PLATFORM, currency=currency)
    return wallets[leader.pk].pk, [wallets[member.pk].pk for member in members], platform


def _require_held(hold: EscrowHold) -> None:
    if hold.amount.amount <= 0:
        raise EscrowNotHeld(f"Escrow hold #{hold.pk} holds nothing: it was already paid out.")


def _pay_out(
    *,
    operation: str,
    key_operation: str,
    hold: EscrowHold,
    refund_amount: Money | None,
    leader,
    members: Sequence,
    rates: Rates,
    weights: Sequence[int] | None,
    idempotency_key: str,
    actor,
) -> list[EscrowTransaction]:
    """Empty the hold: `refund_amount` (if any) back to the buyer, the rest to the
    platform, the leader and the members by the release rule (by `weights`, one per
    member, for a task-points pool)."""
    leader_id, member_ids, platform = _payees(leader, members, hold.amount_currency)
    key = _ledger_key(key_operation, hold, idempotency_key)
    with transaction.atomic():
        hold, wallets = _hold_for_update(hold, leader_id, *member_ids)
        replayed = _replay(
            key,
            matches=lambda legs: (
                (legs[0].kind == Kind.REFUND and legs[0].amount == refund_amount)
                if refund_amount is not None
                else all(leg.kind != Kind.REFUND for leg in legs)
            ),
        )
        if replayed:
            return replayed
        _require_held(hold)
        legs = []
        if refund_amount is not None:
            _require_currency(refund_amount, hold.buyer_wallet)
            if not Money(0, hold.amount.currency) < refund_amount < hold.amount:
                raise InvalidSplit(
                    f"A split refunds more than 0 and less than the {hold.amount.amount} "
                    f"{hold.amount.currency} held."
                )
            legs.append(ledger.Leg(Kind.REFUND, refund_amount, hold, hold.buyer_wallet))
        released = hold.amount - (refund_amount or Money(0, hold.amount.currency))
        legs += _payout_legs(
            hold,
            released,
            leader_wallet=wallets[leader_id],
            member_wallets=[wallets[pk] for pk in member_ids],
            platform=platform,
            rates=rates,
            weights=weights,
        )
        entries = ledger.post(legs, idempotency_key=key, actor=actor)
        _log(operation, key=key, actor=actor, legs=entries, hold=hold.pk)
        return entries


@_refusals_logged("escrow.release")
def escrow_release(
    *,
    hold: EscrowHold,
    leader,
    members: Sequence,
    rates: Rates,
    idempotency_key: str,
    actor=None,
    weights: Sequence[int] | None = None,
) -> list[EscrowTransaction]:
    """Release everything in the hold: 10 % platform, 3 % leader, 87 % among `members`
    (in order of joining; the first ones get the leftover cents), equally or by
    `weights` (one per member: a task-points pool)."""
    return _pay_out(
        operation="escrow.release",
        key_operation="release",
        hold=hold,
        refund_amount=None,
        leader=leader,
        members=members,
        rates=rates,
        weights=weights,
        idempotency_key=idempotency_key,
        actor=actor,
    )


@_refusals_logged("escrow.refund")
def escrow_refund(*, hold: EscrowHold, idempotency_key: str, actor=None) -> list[EscrowTransaction]:
    """Give everything in the hold back to the buyer's available balance."""
    key = _ledger_key("refund", hold, idempotency_key)
    with transaction.atomic():
        hold, _ = _hold_for_update(hold)
        replayed = _replay(key)
        if replayed:
            return replayed
        _require_held(hold)
        legs = ledger.post(
            [ledger.Leg(Kind.REFUND, hold.amount, hold, hold.buyer_wallet)],
            idempotency_key=key,
            actor=actor,
        )
        _log("escrow.refund", key=key, actor=actor, legs=legs, hold=hold.pk)
        return legs


@_refusals_logged("escrow.settle")
def escrow_settle(
    *,
    hold: EscrowHold,
    refund_amount: Money,
    leader,
    members: Sequence,
    rates: Rates,
    idempotency_key: str,
    actor=None,
    weights: Sequence[int] | None = None,
) -> list[EscrowTransaction]:
    """Split a hold: `refund_amount` back to the buyer, the rest released under `rates`
    (the pool by `weights` when given, as `escrow_release`)."""
    return _pay_out(
        operation="escrow.settle",
        key_operation="settle",
        hold=hold,
        refund_amount=refund_amount,
        leader=leader,
        members=members,
        rates=rates,
        weights=weights,
        idempotency_key=idempotency_key,
        actor=actor,
    )


# --- staff adjustments --------------------------------------------------------------


@_refusals_logged("wallet.adjust")
def wallet_adjust(
    *, wallet: Wallet, amount: Money, reason: str, actor, idempotency_key: str
) -> EscrowTransaction:
    """Staff correct a user's wallet with one ledger entry against the platform account:
    a positive `amount` credits the wallet (the platform pays it), a negative one debits
    it to the platform, never below its available balance (409 `insufficient_funds`).
    The actor needs the finance role's `escrow.adjust_wallet` and never adjusts their
    own wallet (403); the reason is required and kept as the entry's memo."""
    require_staff_power(
        actor,
        "escrow.adjust_wallet",
        doing="adjust this wallet",
        party=wallet.user_id is not None and wallet.user_id == getattr(actor, "pk", None),
    )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            "A reason is required.", code="reason_required", fields={"reason": ["Required."]}
        )
    if wallet.kind != Wallet.Kind.USER:
        raise InvalidInput("Only a user's wallet can be adjusted.", code="invalid_wallet")
    if not isinstance(amount, Money):
        raise InvalidInput("The amount must be money.", code="invalid_amount")
    credit = amount.amount > 0
    magnitude = parse_amount(abs(amount.amount), str(amount.currency))
    _require_currency(magnitude, wallet)
    platform = system_wallet(kind=Wallet.Kind.PLATFORM, currency=wallet.currency)
    entry, _ = _post_wallet_entry(
        operation="wallet.adjust",
        kind=Kind.ADJUSTMENT,
        wallet=wallet,
        counterparty=platform,
        amount=magnitude,
        credit=credit,
        ledger_key=_ledger_key("adjust", wallet, idempotency_key),
        actor=actor,
        memo=reason[:255],
        debit_label="the debit of",
        direction="credit" if credit else "debit",
        reason=reason,
    )
    return entry
