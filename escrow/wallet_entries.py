"""The ledger entries touching one wallet, read as four disjoint sides, each an
index-ordered scan: money into the wallet, money out of it, money into the escrow holds it
funded as a buyer, and money out of them.

Asked as one `WHERE a OR b OR c OR d ORDER BY created_at`, PostgreSQL has to collect and
sort every entry of the wallet before it returns the first one (a busy wallet's page
grew 24x with 100x the data). Each side alone walks its own `(account, created_at, id)`
index, so a page reads a page's worth of keys from each side, and a statement streams
the four sides merged in order.
"""

import heapq
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from functools import reduce
from itertools import islice
from operator import or_

from django.db import connection, transaction
from django.db.models import Case, CharField, DecimalField, Func, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from .models import EscrowHold, EscrowTransaction, GroupWallet, Wallet, cents
from .money import CENT
from .sealing import with_seals

CHUNK = 2000
ZERO = Decimal("0.00")
Account = Wallet | GroupWallet
SIDES = ("into", "out_of", "held", "released")


def _columns(account: Account) -> tuple[str, str]:
    """The ledger's column for this kind of account, and the hold's column naming it: a
    user's escrow is the holds it funded as a buyer, a group's the holds of its deals."""
    if isinstance(account, GroupWallet):
        return "group_wallet_id", "group_wallet_id"
    return "wallet_id", "buyer_wallet_id"


def _conditions(account: Account) -> list[Q]:
    """Into the account, out of it, into its holds, out of them; none for an account not
    yet opened."""
    if account.pk is None:
        return []
    column, owner = _columns(account)
    holds = EscrowHold.objects.filter(**{owner: account.pk}).values("pk")
    return [
        Q(**{f"to_{column}": account.pk}),
        Q(**{f"from_{column}": account.pk}),
        Q(to_hold__in=holds),
        Q(from_hold__in=holds),
    ]


def _sides(account: Account) -> list[QuerySet[EscrowTransaction]]:
    """The four sides, none holding an entry an earlier one holds. Two entries really
    touch two sides: an escrow lock leaves the wallet for its hold, a refund leaves the
    hold for the wallet; the ledger's own constraints (one source, one destination, never
    to itself) rule every other overlap out, so the first two sides need no exclusion
    and stay index-only."""
    conditions = _conditions(account)
    if not conditions:
        return []
    into, out_of, held, released = conditions
    entries = EscrowTransaction.objects
    return [
        entries.filter(into),
        entries.filter(out_of),
        entries.filter(held).exclude(out_of),
        entries.filter(released).exclude(into).exclude(held),
    ]


def _from_cents(cents_: Decimal | int) -> Decimal:
    return (Decimal(int(cents_)) / 100).quantize(CENT)


@contextmanager
def one_snapshot() -> Iterator[None]:
    """A transaction to read the sides in: one snapshot for all four (REPEATABLE READ, on
    PostgreSQL, when it is the outermost), and cursors that stream. Outside a transaction
    Django declares its cursors WITH HOLD, which PostgreSQL materializes whole before the
    first row: a 100 000-entry statement waited 4.6 s for its first byte."""
    outermost = connection.get_autocommit()
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class WalletEntries:
    """The entries of a user's wallet or a group's, newest first, each with its
    `direction` ("in" when the money arrives in the account, "out" otherwise) and its
    seal (`seal_id`, `seal_hash`, None until sealed).

    Quacks as much like a QuerySet as Django's and DRF's paginators need: `count()` and
    slicing, plus `select_related()` and `between()`, which return a narrowed copy."""

    ordered = True  # the paginators warn about unordered lists

    def __init__(self, account: Account, sides=None, related: tuple[str, ...] = ()):
        self.account = account
        self.sides = _sides(account) if sides is None else sides
        self.related = related
        self.column, self.hold_owner = _columns(account)

    def _copy(self, sides=None, related=None) -> "WalletEntries":
        return WalletEntries(self.account, sides or self.sides, related or self.related)

    def select_related(self, *fields: str) -> "WalletEntries":
        return self._copy(related=self.related + fields)

    def between(self, since: datetime | None, until: datetime | None) -> "WalletEntries":
        """Only the entries in [since, until)."""
        window = Q()
        if since is not None:
            window &= Q(created_at__gte=since)
        if until is not None:
            window &= Q(created_at__lt=until)
        return self._copy(sides=[side.filter(window) for side in self.sides])

    def count(self) -> int:
        if not self.sides:
            return 0
        first, *others = (side.order_by().values("pk") for side in self.sides)
        return first.union(*others, all=True).count()

    def __getitem__(self, page: slice) -> list[EscrowTransaction]:
        """One page, newest first: the newest `stop` keys of each side, merged, cut to
        the page, then those entries read whole."""
        if not isinstance(page, slice) or page.step is not None:
            raise TypeError("WalletEntries can only be sliced")
        start, stop = page.start or 0, page.stop
        ids = [entry_id for _, entry_id in islice(self.newest_keys(stop), start, stop)]
        entries = self._full(EscrowTransaction.objects.filter(pk__in=ids))
        return sorted(entries, key=lambda entry: (entry.created_at, entry.pk), reverse=True)

    def newest_keys(self, count: int) -> Iterator[tuple[datetime, int]]:
        """(created_at, id) of the newest `count` entries, newest first: the newest
        `count` of each side merged, in one UNION ALL of the sides' index scans where the
        database takes a LIMIT per branch (PostgreSQL), side by side otherwise (SQLite)."""
        newest = [
            side.order_by("-created_at", "-id").values_list("created_at", "id")[:count]
            for side in self.sides
        ]
        if not newest:
            return iter(())
        if connection.features.supports_slicing_ordering_in_compound:
            first, *others = newest
            merged = iter(sorted(first.union(*others, all=True), reverse=True))
        else:
            merged = heapq.merge(*newest, reverse=True)
        return islice(merged, count)

    def where(self, condition: Q) -> list[EscrowTransaction]:
        """The account's entries that also meet `condition`, newest first."""
        touching = reduce(or_, _conditions(self.account), Q(pk__in=[]))
        entries = EscrowTransaction.objects.filter(touching).filter(condition)
        return list(self._full(entries).order_by("-created_at", "-id"))

    def oldest_first(self) -> Iterator[EscrowTransaction]:
        """Every entry, oldest first, read from the database in chunks as it is used."""
        streams = (
            self._full(side).order_by("created_at", "id").iterator(chunk_size=CHUNK)
            for side in self.sides
        )
        return heapq.merge(*streams, key=lambda entry: (entry.created_at, entry.pk))

    def read(self) -> list[EscrowTransaction]:
        """Every entry, oldest first, in one query: for a window known to be small."""
        if not self.sides:
            return []
        first, *others = (side.order_by().values("pk") for side in self.sides)
        entries = EscrowTransaction.objects.filter(pk__in=first.union(*others, all=True))
        return list(self._full(entries).order_by("created_at", "id"))

    def changes(self, entry: EscrowTransaction) -> tuple[Decimal, Decimal]:
        """How the entry moved the account's available balance and its escrow (the entry's
        holds must be loaded: `select_related("from_hold", "to_hold")`)."""
        amount = entry.amount.amount
        available = escrow = ZERO
        if getattr(entry, f"to_{self.column}") == self.account.pk:
            available += amount
        if getattr(entry, f"from_{self.column}") == self.account.pk:
            available -= amount
        if entry.to_hold_id is not None and self._owns(entry.to_hold):
            escrow += amount
        if entry.from_hold_id is not None and self._owns(entry.from_hold):
            escrow -= amount
        return available, escrow

    def _owns(self, hold: EscrowHold) -> bool:
        return getattr(hold, self.hold_owner) == self.account.pk

    def balances_before(self, moment: datetime) -> tuple[Decimal, Decimal]:
        """The account's available balance and its escrow just before `moment`: its cached
        balances less what its entries since `moment` changed, in whole cents (exact on
        SQLite too), each side summed from its own index, in one statement. Counted back
        from now, the cost is that of the entries since `moment` (a page, the chart's
        span), not of the account's whole history; reconcile proves the cached balances
        equal the ledger's sums."""
        conditions = _conditions(self.account)
        if not conditions:
            return ZERO, ZERO

        def since(condition: Q) -> Coalesce:
            entries = EscrowTransaction.objects.filter(condition, created_at__gte=moment)
            # SUM as a plain function: Django would GROUP BY a `Sum` inside `values()`.
            summed = entries.order_by().values(
                total=Func(cents("amount"), function="SUM", output_field=DecimalField())
            )
            return Coalesce(Subquery(summed), Value(0), output_field=DecimalField())

        now = (
            type(self.account)
            .objects.filter(pk=self.account.pk)
            .values(
                available=cents("available_balance"),
                escrow=cents("escrow_balance"),
                **{side: since(c) for side, c in zip(SIDES, conditions, strict=True)},
            )
            .get()
        )
        available = now["available"] - now["into"] + now["out_of"]
        escrow = now["escrow"] - now["held"] + now["released"]
        return _from_cents(available), _from_cents(escrow)

    def _full(self, entries: QuerySet[EscrowTransaction]) -> QuerySet[EscrowTransaction]:
        if self.related:
            entries = entries.select_related(*self.related)
        return with_seals(entries).annotate(
            direction=Case(
                When(**{f"to_{self.column}": self.account.pk}, then=Value("in")),
                default=Value("out"),
                output_field=CharField(),
            )
        )
