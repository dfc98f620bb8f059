"""The tamper-evident ledger: escrow transactions sealed into a hash chain.

`seal_ledger()` seals every unsealed transaction, in id order, into one new `LedgerSeal`:
`hash = sha256(previous seal's hash + the digest of every stored column of each sealed
row)`. It only reads the ledger and inserts into the seal table, so a posting never waits
on it; two sealers racing from the same seal collide on the seal's unique `after_id` and
the loser seals nothing. `first_broken_seal()` recomputes the chain for `reconcile`.

Ids are handed out before commit, so a posting still in flight may hold an id below one
already committed. Only transactions older than `SETTLE` are sealed, and sealing stops
before the first younger one, so such a posting commits before its id is passed over.
"""

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import EscrowTransaction, LedgerSeal

SETTLE = timedelta(seconds=5)
COLUMNS = sorted(field.attname for field in EscrowTransaction._meta.concrete_fields)


def _text(value) -> str | None:
    """A column's value as the same text on PostgreSQL and SQLite."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def row_digest(values: tuple) -> bytes:
    """sha256 of one transaction's stored columns (`COLUMNS` order), as canonical JSON."""
    canonical = json.dumps(
        {column: _text(value) for column, value in zip(COLUMNS, values, strict=True)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).digest()


def _rows(queryset: QuerySet[EscrowTransaction]) -> Iterator[tuple]:
    """(id, the columns) of each transaction, in id order, read in chunks."""
    return queryset.order_by("id").values_list("id", *COLUMNS).iterator(chunk_size=2000)


def latest_seal() -> LedgerSeal | None:
    return LedgerSeal.objects.order_by("-id").first()


def seal_ledger(
    *, settle: timedelta | None = None, now: datetime | None = None
) -> LedgerSeal | None:
    """Seal the unsealed transactions older than `settle` (default `SETTLE`) into a new
    seal; None when there were none or another sealer appended first."""
    settle = SETTLE if settle is None else settle
    previous = latest_seal()
    after_id = previous.sealed_through_id if previous else 0
    pending = EscrowTransaction.objects.filter(id__gt=after_id)
    cutoff = (now or timezone.now()) - settle
    too_young = pending.filter(created_at__gt=cutoff).aggregate(first=Min("id"))["first"]
    if too_young is not None:
        pending = pending.filter(id__lt=too_young)
    chain = hashlib.sha256(previous.hash.encode() if previous else b"")
    count = last_id = 0
    for row_id, *values in _rows(pending):
        chain.update(row_digest(values))
        count, last_id = count + 1, row_id
    if not count:
        return None
    try:
        with transaction.atomic():
            return LedgerSeal.objects.create(
                previous=previous,
                after_id=after_id,
                sealed_through_id=last_id,
                row_count=count,
                hash=chain.hexdigest(),
            )
    except IntegrityError:  # another sealer appended after `previous` first
        return None


def first_broken_seal() -> str | None:
    """Recompute every seal from the rows it covers; a description of the first one that
    does not match (a sealed row changed, removed or inserted, or the chain cut), or
    None when all hold. One pass over the sealed ledger."""
    last = latest_seal()
    if last is None:
        return None
    rows = _rows(EscrowTransaction.objects.filter(id__lte=last.sealed_through_id))
    row = next(rows, None)
    previous = None
    for seal in LedgerSeal.objects.order_by("id").iterator(chunk_size=2000):
        span = f"seal #{seal.pk} (transactions #{seal.after_id + 1}-#{seal.sealed_through_id})"
        follows = seal.previous_id == (previous.pk if previous else None)
        if not follows or seal.after_id != (previous.sealed_through_id if previous else 0):
            return f"{span} does not follow the seal before it: the chain was cut"
        chain = hashlib.sha256(previous.hash.encode() if previous else b"")
        count = 0
        while row is not None and row[0] <= seal.sealed_through_id:
            chain.update(row_digest(row[1:]))
            count += 1
            row = next(rows, None)
        if count != seal.row_count or chain.hexdigest() != seal.hash:
            return f"{span} is broken: a sealed row was changed, removed or inserted"
        previous = seal
    return None


def with_seals(queryset: QuerySet[EscrowTransaction]) -> QuerySet[EscrowTransaction]:
    """Annotate each transaction with `seal_id` and `seal_hash` (None until sealed): the
    first seal reaching its id, since seals cover contiguous id ranges."""
    covering = LedgerSeal.objects.filter(sealed_through_id__gte=OuterRef("id")).order_by(
        "sealed_through_id"
    )
    return queryset.annotate(
        seal_id=Subquery(covering.values("id")[:1]),
        seal_hash=Subquery(covering.values("hash")[:1]),
    )


def backlog(now: datetime | None = None) -> tuple[int, float]:
    """(unsealed transactions, age in seconds of the oldest one; 0 when none), in one
    query."""
    sealed_through = LedgerSeal.objects.order_by("-id").values("sealed_through_id")[:1]
    figures = EscrowTransaction.objects.filter(
        id__gt=Coalesce(Subquery(sealed_through), 0)
    ).aggregate(count=Count("id"), oldest=Min("created_at"))
    oldest = figures["oldest"]
    age = ((now or timezone.now()) - oldest).total_seconds() if oldest else 0.0
    return figures["count"], max(age, 0.0)
