"""Ledger seals are append-only, like the ledger (escrow 0010): the database refuses to
rewrite or remove a seal, through the ORM or plain SQL, and migrating back removes the
trigger while migrating forward brings it back."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from escrow.models import LedgerSeal
from escrow.sealing import first_broken_seal, seal_ledger

pytestmark = pytest.mark.django_db
BEFORE = ("escrow", "0009_ledger_seals")
AFTER = ("escrow", "0010_append_only_seals")


@pytest.fixture
def seal(funded_buyer):
    return seal_ledger(settle=timedelta(0))


def seal_triggers() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'ledger_seals_append_only' "
            "AND tgenabled <> 'D'"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_seals SET hash = repeat('0', 64)",
        "UPDATE ledger_seals SET row_count = row_count + 1",
        "DELETE FROM ledger_seals",
    ],
)
def test_the_database_refuses_to_change_or_delete_a_seal(seal, statement):
    with (
        pytest.raises(DatabaseError, match="ledger_seals is append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert LedgerSeal.objects.get() == seal
    assert LedgerSeal.objects.get().hash == seal.hash
    assert first_broken_seal() is None


def test_the_orm_cannot_rewrite_or_delete_a_seal_either(seal):
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        LedgerSeal.objects.filter(pk=seal.pk).update(previous=None, hash="0" * 64)
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        LedgerSeal.objects.filter(pk=seal.pk).delete()

    assert list(LedgerSeal.objects.values_list("hash", flat=True)) == [seal.hash]


@pytest.mark.django_db(transaction=True)
def test_0010_reverses_and_reapplies_the_trigger(migrator):
    assert seal_triggers() == 1

    migrator.apply_tested_migration(BEFORE)
    assert seal_triggers() == 0

    migrator.apply_tested_migration(AFTER)
    assert seal_triggers() == 1
