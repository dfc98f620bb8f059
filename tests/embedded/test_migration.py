"""escrow 0008 reverses and re-applies on the embedded default too. SQLite alters a
column by rebuilding its table: the wallets, group wallets and holds are rebuilt with
their rows, and the ledger table, left alone, keeps its append-only triggers."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from djmoney.money import Money

from escrow.models import GroupWallet, Wallet
from tests.factories import GroupFactory, UserFactory

# Transactional: SQLite cannot alter tables inside the test's transaction. No ledger
# rows here: the flush after the test deletes rows, which the append-only trigger refuses.
pytestmark = [pytest.mark.embedded, pytest.mark.django_db(transaction=True)]


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def rows() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, balance, available_balance, escrow_balance FROM wallets ORDER BY id"
        )
        wallets = [tuple(str(v) for v in row) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT id, balance, available_balance, total_escrow_received FROM group_wallets"
        )
        groups = [tuple(str(v) for v in row) for row in cursor.fetchall()]
    return {"wallets": wallets, "groups": groups}


def append_only_triggers() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'escrow_transactions'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'escrow_transactions_append_only'"
            )
        return cursor.fetchone()[0]


def test_0008_reverses_and_reapplies_with_the_rows_and_the_ledger_triggers():
    triggers = append_only_triggers()
    assert triggers >= 1
    Wallet.objects.create(
        user=UserFactory(),
        balance=usd("0.50"),
        available_balance=usd("0.30"),
        escrow_balance=usd("0.20"),
    )
    GroupWallet.objects.create(
        group=GroupFactory(),
        balance=usd("765.43"),
        available_balance=usd("765.43"),
        total_escrow_received=usd("1234.57"),
    )
    before = rows()

    call_command("migrate", "escrow", "0007_adjustment_kind", verbosity=0)
    assert rows() == before
    assert append_only_triggers() == triggers

    call_command("migrate", "escrow", verbosity=0)
    assert rows() == before
    assert append_only_triggers() == triggers
    # The exact-cents check is back: 0.10 + 0.20 = 0.30 is accepted.
    Wallet.objects.create(
        user=UserFactory(),
        balance=usd("0.30"),
        available_balance=usd("0.10"),
        escrow_balance=usd("0.20"),
    )
