"""The sealed ledger (CONTRACT.md, "Additions"): `seal_ledger` chains the escrow
transactions into seals, `reconcile` recomputes them and names the first broken one."""

import hashlib
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from escrow import sealing, services
from escrow.models import EscrowTransaction, LedgerSeal
from escrow.sealing import first_broken_seal, row_digest, seal_ledger
from tests.factories import UserFactory

from .conftest import usd

pytestmark = pytest.mark.django_db
NOW = timedelta(0)


def deposit(user, amount: str, key: str) -> EscrowTransaction:
    return services.wallet_deposit(user=user, amount=usd(amount), idempotency_key=key)


def digest_of(entry: EscrowTransaction) -> bytes:
    values = EscrowTransaction.objects.filter(pk=entry.pk).values_list(*sealing.COLUMNS).get()
    return row_digest(values)


@pytest.fixture
def deal(funded_buyer, group):
    return services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("400.00"), idempotency_key="lock"
    )


def test_a_seal_chains_every_unsealed_transaction_in_id_order(deal, ledger_clean):
    entries = list(EscrowTransaction.objects.order_by("id"))
    assert len(entries) == 2

    first = seal_ledger(settle=NOW)

    assert (first.previous, first.after_id) == (None, 0)
    assert (first.sealed_through_id, first.row_count) == (entries[-1].pk, 2)
    expected = hashlib.sha256(b"" + digest_of(entries[0]) + digest_of(entries[1])).hexdigest()
    assert first.hash == expected

    later = deposit(deal.buyer_wallet.user, "12.34", "later")
    second = seal_ledger(settle=NOW)

    assert (second.previous, second.after_id) == (first, first.sealed_through_id)
    assert (second.sealed_through_id, second.row_count) == (later.pk, 1)
    assert second.hash == hashlib.sha256(first.hash.encode() + digest_of(later)).hexdigest()
    assert seal_ledger(settle=NOW) is None  # nothing new
    assert LedgerSeal.objects.count() == 2
    assert first_broken_seal() is None
    ledger_clean()


def test_a_row_digest_covers_every_stored_column(deal):
    entry = EscrowTransaction.objects.order_by("id").first()
    values = list(EscrowTransaction.objects.filter(pk=entry.pk).values_list(*sealing.COLUMNS).get())
    digest = row_digest(values)
    assert set(sealing.COLUMNS) == {
        field.attname for field in EscrowTransaction._meta.concrete_fields
    }
    for index in range(len(values)):
        changed = list(values)
        changed[index] = "tampered" if values[index] is None else f"{values[index]}x"
        assert row_digest(changed) != digest, sealing.COLUMNS[index]


def test_only_transactions_older_than_the_settle_time_are_sealed(funded_buyer):
    older = EscrowTransaction.objects.get()
    younger = deposit(funded_buyer, "1.00", "young")
    settle = timedelta(seconds=5)

    seal = seal_ledger(settle=settle, now=younger.created_at + settle - timedelta(microseconds=1))
    assert (seal.sealed_through_id, seal.row_count) == (older.pk, 1)
    assert seal_ledger(settle=settle, now=younger.created_at) is None
    assert seal_ledger(settle=settle, now=younger.created_at + settle).sealed_through_id == (
        younger.pk
    )


def test_a_sealer_that_lost_the_race_appends_nothing(funded_buyer, monkeypatch):
    first = seal_ledger(settle=NOW)
    deposit(funded_buyer, "5.00", "second")
    winner = seal_ledger(settle=NOW)
    # A second sealer read the chain before the winner appended: it starts from `first`.
    monkeypatch.setattr(sealing, "latest_seal", lambda: first)

    assert seal_ledger(settle=NOW) is None
    assert list(LedgerSeal.objects.order_by("id")) == [first, winner]
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerSeal.objects.create(
            previous=None, after_id=0, sealed_through_id=10**9, row_count=1, hash="0" * 64
        )


def _tamper(statement: str, params=(), table: str = "escrow_transactions") -> None:
    """Run `statement` on `table` (the ledger or its seals) behind its back: the table's
    append-only trigger off."""
    with connection.cursor() as cursor:
        # The test's transaction has deferred foreign-key checks pending: run them first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        cursor.execute(statement, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def _two_seals(buyer):
    """Seal #1 over the deposit and a hole left by a rolled-back posting, seal #2 over
    two later deposits. Returns (seal 1, seal 2, the hole's id)."""
    with pytest.raises(RuntimeError), transaction.atomic():
        deposit(buyer, "9.00", "rolled-back")
        raise RuntimeError
    deposit(buyer, "20.00", "kept")
    hole = EscrowTransaction.objects.order_by("id")[1].pk - 1
    first = seal_ledger(settle=NOW)
    deposit(buyer, "30.00", "third")
    deposit(buyer, "40.00", "fourth")
    second = seal_ledger(settle=NOW)
    return first, second, hole


def test_reconcile_fails_naming_the_seal_when_a_sealed_memo_is_edited(funded_buyer, capsys):
    first, second, _ = _two_seals(funded_buyer)
    call_command("reconcile")
    target = EscrowTransaction.objects.order_by("id").last()

    _tamper("UPDATE escrow_transactions SET memo = 'rewritten' WHERE id = %s", [target.pk])

    with pytest.raises(CommandError, match="NOT clean"):
        call_command("reconcile")
    report = capsys.readouterr().err
    assert (
        f"seal #{second.pk} (transactions #{first.sealed_through_id + 1}-#{target.pk}) is "
        "broken: a sealed row was changed, removed or inserted" in report
    )
    assert f"seal #{first.pk} " not in report
    # The balances were not touched: the seal is the only thing that notices.
    assert report.count("  - ") == 1


@pytest.mark.parametrize("change", ["removed", "inserted", "changed in both seals"])
def test_reconcile_names_the_first_broken_seal(funded_buyer, change):
    first, _, hole = _two_seals(funded_buyer)
    rows = list(EscrowTransaction.objects.order_by("id"))
    if change == "removed":
        _tamper("DELETE FROM escrow_transactions WHERE id = %s", [rows[0].pk])
    elif change == "inserted":
        # A row slipped into the hole of seal #1, whatever it says.
        clone = EscrowTransaction.objects.filter(pk=rows[0].pk).values().get()
        EscrowTransaction.objects.create(**{**clone, "id": hole, "idempotency_key": "forged"})
    else:
        _tamper(
            "UPDATE escrow_transactions SET memo = 'x' WHERE id IN (%s, %s)",
            [rows[0].pk, rows[-1].pk],
        )

    assert first_broken_seal() == (
        f"seal #{first.pk} (transactions #1-#{first.sealed_through_id}) is broken: "
        "a sealed row was changed, removed or inserted"
    )


def test_reconcile_notices_a_seal_cut_out_of_the_chain(funded_buyer):
    _, second, _ = _two_seals(funded_buyer)
    third_entry = deposit(funded_buyer, "1.00", "fifth")
    third = seal_ledger(settle=NOW)
    assert third.sealed_through_id == third_entry.pk
    _tamper("UPDATE ledger_seals SET previous_id = NULL WHERE id = %s", [third.pk], "ledger_seals")
    assert first_broken_seal() == (
        f"seal #{third.pk} (transactions #{second.sealed_through_id + 1}-#{third_entry.pk}) "
        "does not follow the seal before it: the chain was cut"
    )


@pytest.mark.django_db(transaction=True)
def test_sealing_never_makes_a_posting_wait():
    """A sealer holding its transaction open (its seal inserted, not committed) holds no
    lock a posting needs: a deposit on another connection goes through at once."""
    buyer = UserFactory()
    deposit(buyer, "10.00", "before")
    sealed, finish, seals = threading.Event(), threading.Event(), []

    def sealer():
        try:
            with transaction.atomic():
                seals.append(seal_ledger(settle=NOW))
                sealed.set()
                finish.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=sealer)
    thread.start()
    try:
        assert sealed.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
            entry = deposit(buyer, "3.00", "during-sealing")
    finally:
        finish.set()
        thread.join()
    assert entry.pk > seals[0].sealed_through_id
    assert LedgerSeal.objects.get() == seals[0]


def test_backlog_counts_the_unsealed_lines_and_the_age_of_the_oldest(funded_buyer):
    oldest = EscrowTransaction.objects.get()
    later = timezone.now() + timedelta(seconds=90)
    deposit(funded_buyer, "2.00", "two")
    count, age = sealing.backlog(now=later)
    assert count == 2
    assert age == (later - oldest.created_at).total_seconds()
    seal_ledger(settle=NOW)
    assert sealing.backlog(now=later) == (0, 0.0)
