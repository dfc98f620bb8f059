"""escrow 0008 (exact cents, wide balances) forwards and backwards on PostgreSQL, with
money in the books: the rows survive both ways, the columns and the constraint change,
and a reverse that cannot fit a balance into numeric(12,2) is refused whole."""

from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from escrow import services
from escrow.reconcile import find_problems
from tests.factories import GroupFactory, UserFactory

from .conftest import usd

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("escrow", "0007_adjustment_kind")
AFTER = ("escrow", "0008_exact_cents_and_wide_balances")
SEALS = ("escrow", "0010_append_only_seals")  # the seals, append-only
WIDENED = {
    "wallets": ("balance", "available_balance", "escrow_balance"),
    "group_wallets": ("balance", "available_balance", "escrow_balance", "total_escrow_received"),
    "escrow_holds": ("amount",),
}


def precisions() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_name = ANY(%s) AND data_type = 'numeric'",
            [[*WIDENED, "escrow_transactions"]],
        )
        result = {}
        for table, column, precision, scale in cursor.fetchall():
            assert scale == 2, (table, column)
            result[f"{table}.{column}"] = precision
        return result


def expected_precisions(width: int) -> dict[str, int]:
    widths = {f"{t}.{c}": width for t, columns in WIDENED.items() for c in columns}
    return {**widths, "escrow_transactions.amount": 12}


def balance_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conname = 'wallet_balance_is_available_plus_escrow'"
        )
        (definition,) = cursor.fetchone()
        return definition


def money_rows() -> dict:
    with connection.cursor() as cursor:
        result = {}
        for table, columns in WIDENED.items():
            cursor.execute(f"SELECT id, {', '.join(columns)} FROM {table} ORDER BY id")
            result[table] = cursor.fetchall()
        cursor.execute("SELECT id, kind, amount FROM escrow_transactions ORDER BY id")
        result["escrow_transactions"] = cursor.fetchall()
        return result


def applied(name) -> bool:
    return MigrationRecorder(connection).migration_qs.filter(app=name[0], name=name[1]).exists()


def test_0008_goes_back_and_forth_keeping_every_cent(migrator):
    buyer, member = UserFactory(), UserFactory()
    group = GroupFactory(members=[member])
    services.wallet_deposit(user=buyer, amount=usd("830.86"), idempotency_key="fund")
    services.escrow_lock(buyer=buyer, group=group, amount=usd("765.43"), idempotency_key="l")
    services.wallet_deposit(user=member, amount=usd("0.30"), idempotency_key="m")
    rows = money_rows()
    assert precisions() == expected_precisions(15)
    assert "round" in balance_check().lower()
    assert find_problems() == []

    migrator.apply_tested_migration(BEFORE)
    assert not applied(AFTER)
    assert precisions() == expected_precisions(12)
    assert balance_check() == "CHECK ((balance = (available_balance + escrow_balance)))"
    assert money_rows() == rows

    migrator.apply_tested_migration(AFTER)
    assert applied(AFTER)
    assert precisions() == expected_precisions(15)
    assert money_rows() == rows
    migrator.apply_tested_migration(SEALS)  # reconcile also proves the seals' table
    assert find_problems() == []


def test_after_0008_the_check_compares_whole_cents_and_balances_fit_15_digits():
    user = UserFactory()
    services.wallet_deposit(user=user, amount=usd("0.30"), idempotency_key="fund")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets SET balance = 9999999999999.99, available_balance = "
            "9999999999999.79, escrow_balance = 0.20 WHERE user_id = %s",
            [user.pk],
        )
        cursor.execute("SELECT balance FROM wallets WHERE user_id = %s", [user.pk])
        assert cursor.fetchone() == (Decimal("9999999999999.99"),)
        with (
            pytest.raises(IntegrityError, match="wallet_balance_is_available_plus_escrow"),
            transaction.atomic(),
        ):
            cursor.execute(
                "UPDATE wallets SET balance = 0.31, available_balance = 0.10, "
                "escrow_balance = 0.20 WHERE user_id = %s",
                [user.pk],
            )


def test_a_reverse_that_cannot_fit_a_balance_is_refused_whole(migrator):
    user = UserFactory()
    services.wallet_deposit(user=user, amount=usd("0.30"), idempotency_key="fund")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wallets SET balance = 12345678901.23, available_balance = 12345678901.23 "
            "WHERE user_id = %s",
            [user.pk],
        )
    rows = money_rows()

    with pytest.raises(DataError, match="numeric field overflow"):
        migrator.apply_tested_migration(BEFORE)

    assert applied(AFTER)
    assert precisions() == expected_precisions(15)
    assert money_rows() == rows
    assert [r[1] for r in rows["wallets"] if r[1] > Decimal("1e10")] == [Decimal("12345678901.23")]
