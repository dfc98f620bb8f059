"""Prove the ledger: recompute every balance from the escrow transactions and check the
invariants of CONTRACT.md ("Money rules").

`find_problems()` returns a list of human-readable problems; empty means clean. Apps
above the ledger add their own invariants with `register_check` (proposals check that
each proposal's escrow matches its status) without the ledger knowing them.

Everything is read from one snapshot of the database (see `find_problems`), so money
moving while it runs (and `/metrics` runs it on a live system) cannot show up as a
mismatch. Sums are taken in whole cents: SQLite, the embedded default, sums its decimal
columns as doubles, whose errors would otherwise surface as false mismatches.
"""

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import IntegerField, Sum

from .models import EscrowHold, EscrowTransaction, GroupWallet, Wallet, cents
from .sealing import first_broken_seal

Check = Callable[[], list[str]]
_extra_checks: list[Check] = []

ZERO = Decimal("0.00")


def register_check(check: Check) -> Check:
    _extra_checks.append(check)
    return check


def _total_cents() -> Sum:
    """The sum of the entries' amounts as a whole number of cents: exact on every
    database (integers are summed exactly by SQLite too, up to 2**63 cents)."""
    return Sum(cents("amount"), output_field=IntegerField())


def _amount(total_cents) -> Decimal:
    """Cents (an int, a float holding an integer on SQLite, a numeric on PostgreSQL)
    back to an amount with two places."""
    return Decimal(round(total_cents)).scaleb(-2)


def _flows(side: str, account: str) -> dict[int, Decimal]:
    """Sum of amounts per account id on one side ("from" or "to") of the ledger."""
    column = f"{side}_{account}_id"
    rows = (
        EscrowTransaction.objects.filter(**{f"{column}__isnull": False})
        .values(column)
        .annotate(total=_total_cents())
    )
    return {row[column]: _amount(row["total"]) for row in rows}


def ledger_balances(account: str) -> dict[int, Decimal]:
    """Balance of every account of one sort ("wallet", "group_wallet", "hold") from the
    ledger alone: what came in minus what went out."""
    balances: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for pk, total in _flows("to", account).items():
        balances[pk] += total
    for pk, total in _flows("from", account).items():
        balances[pk] -= total
    return balances


def _paid_to_group() -> dict[int, Decimal]:
    rows = (
        EscrowTransaction.objects.filter(
            kind__in=[EscrowTransaction.Kind.LEADER_COMMISSION, EscrowTransaction.Kind.MEMBER_SHARE]
        )
        .values("from_hold__group_wallet")
        .annotate(total=_total_cents())
    )
    return {row["from_hold__group_wallet"]: _amount(row["total"]) for row in rows}


def _compare(problems: list[str], label: str, stored: Decimal, expected: Decimal) -> None:
    if stored != expected:
        problems.append(f"{label}: stored {stored}, ledger says {expected}")


def _check_entries(problems: list[str]) -> None:
    entries = EscrowTransaction.objects.select_related(
        "from_wallet", "to_wallet", "from_group_wallet", "to_group_wallet", "from_hold", "to_hold"
    )
    for entry in entries.iterator(chunk_size=2000):
        currencies = {str(entry.amount.currency)}
        for account in (
            entry.from_wallet,
            entry.to_wallet,
            entry.from_group_wallet,
            entry.to_group_wallet,
        ):
            if account is not None:
                currencies.add(account.currency)
        for hold in (entry.from_hold, entry.to_hold):
            if hold is not None:
                currencies.add(str(hold.amount.currency))
        if len(currencies) != 1:
            problems.append(f"transaction #{entry.pk} mixes currencies {sorted(currencies)}")


def _check_wallets(problems: list[str]) -> None:
    available = ledger_balances("wallet")
    holds = ledger_balances("hold")
    escrow_by_buyer: dict[int, Decimal] = defaultdict(lambda: ZERO)
    escrow_by_group: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for hold in EscrowHold.objects.all():
        expected = holds[hold.pk]
        _compare(problems, f"escrow hold #{hold.pk} amount", hold.amount.amount, expected)
        if expected < 0:
            problems.append(f"escrow hold #{hold.pk} is negative: {expected}")
        escrow_by_buyer[hold.buyer_wallet_id] += expected
        escrow_by_group[hold.group_wallet_id] += expected

    for wallet in Wallet.objects.filter(kind=Wallet.Kind.USER).select_related("user"):
        label = f"wallet #{wallet.pk} ({wallet.user.username})"
        _compare(
            problems, f"{label} available", wallet.available_balance.amount, available[wallet.pk]
        )
        _compare(
            problems, f"{label} escrow", wallet.escrow_balance.amount, escrow_by_buyer[wallet.pk]
        )
        _compare(
            problems,
            f"{label} balance",
            wallet.balance.amount,
            available[wallet.pk] + escrow_by_buyer[wallet.pk],
        )
        if available[wallet.pk] < 0:
            problems.append(f"{label} available balance is negative: {available[wallet.pk]}")

    group_available = ledger_balances("group_wallet")
    paid = _paid_to_group()
    for wallet in GroupWallet.objects.select_related("group"):
        label = f"group wallet #{wallet.pk} ({wallet.group.name})"
        expected = group_available[wallet.pk]
        _compare(problems, f"{label} available", wallet.available_balance.amount, expected)
        _compare(problems, f"{label} balance", wallet.balance.amount, expected)
        _compare(
            problems, f"{label} escrow", wallet.escrow_balance.amount, escrow_by_group[wallet.pk]
        )
        _compare(
            problems,
            f"{label} total escrow received",
            wallet.total_escrow_received.amount,
            paid.get(wallet.pk, ZERO),
        )
        if expected < 0:
            problems.append(f"{label} available balance is negative: {expected}")


def _check_conservation(problems: list[str]) -> None:
    """The money the books say exists (stored balances, escrow held, platform revenue)
    equals what came in from outside minus what went out, per currency: nothing created
    behind the ledger's back, nothing lost."""
    ledger = ledger_balances("wallet")
    inside: dict[str, Decimal] = defaultdict(lambda: ZERO)
    net_inflow: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for wallet in Wallet.objects.all():
        if wallet.kind == Wallet.Kind.EXTERNAL:
            # Negative by what came in net: deposits minus withdrawals.
            net_inflow[wallet.currency] -= ledger[wallet.pk]
        elif wallet.caches_balance:
            inside[wallet.currency] += wallet.available_balance.amount
        else:
            inside[wallet.currency] += ledger[wallet.pk]
    for wallet in GroupWallet.objects.all():
        inside[wallet.currency] += wallet.available_balance.amount
    for hold in EscrowHold.objects.all():
        inside[str(hold.amount.currency)] += hold.amount.amount
    for currency in sorted(set(inside) | set(net_inflow)):
        if inside[currency] != net_inflow[currency]:
            problems.append(
                f"{currency}: balances and escrow sum to {inside[currency]}, but deposits "
                f"minus withdrawals are {net_inflow[currency]}"
            )


# Tables the database keeps append-only, each by a trigger named after it: the ledger
# (escrow 0005) and its seals (0010).
APPEND_ONLY_TABLES = ("escrow_transactions", "ledger_seals")


def _check_append_only(problems: list[str]) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = ANY(%s) AND t.tgname = c.relname || '_append_only' "
            "AND t.tgenabled <> 'D'",
            [list(APPEND_ONLY_TABLES)],
        )
        guarded = {table for (table,) in cursor.fetchall()}
    for table in APPEND_ONLY_TABLES:
        if table not in guarded:
            problems.append(f"the append-only trigger on {table} is missing or disabled")


def _check_seals(problems: list[str]) -> None:
    broken = first_broken_seal()
    if broken is not None:
        problems.append(broken)


def find_problems() -> list[str]:
    """Every problem found, read from one consistent snapshot of the database.

    Outside a transaction it opens one: on PostgreSQL REPEATABLE READ, READ ONLY, so
    every query (the registered checks' too) sees the same committed state while writers
    carry on unblocked. (SQLite has no such statement; its transaction is serializable,
    and the embedded default's IMMEDIATE mode keeps writers out until it ends.) Inside
    a transaction (a test, a caller's atomic block) it reads what that transaction sees.
    """
    if connection.in_atomic_block:
        return _find_problems()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Must be the transaction's first statement.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _find_problems()


def _find_problems() -> list[str]:
    problems: list[str] = []
    _check_entries(problems)
    _check_wallets(problems)
    _check_conservation(problems)
    _check_append_only(problems)
    _check_seals(problems)
    for check in _extra_checks:
        problems.extend(check())
    return problems
