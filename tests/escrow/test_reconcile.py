import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from escrow import services
from escrow.models import EscrowTransaction, Wallet
from escrow.reconcile import find_problems

from .conftest import usd

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(funded_buyer, group):
    return services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("400.00"), idempotency_key="l"
    )


def test_reconcile_reports_a_clean_ledger_and_exits_zero(deal, capsys):
    call_command("reconcile")
    assert "Ledger clean: 2 transactions reconciled." in capsys.readouterr().out


def test_reconcile_finds_a_tampered_balance_and_exits_non_zero(deal, funded_buyer, capsys):
    # Someone edits a balance behind the ledger's back (bypassing the services).
    Wallet.objects.filter(user=funded_buyer).update(
        available_balance=usd("1200.00"), balance=usd("1600.00")
    )
    with pytest.raises(CommandError, match="NOT clean"):
        call_command("reconcile")
    report = capsys.readouterr().err
    assert "(buyer) available: stored 1200.00, ledger says 1100.00" in report
    assert (
        "USD: balances and escrow sum to 1600.00, but deposits minus withdrawals are 1500.00"
        in report
    )


def test_reconcile_finds_money_created_from_nothing(deal, group):
    group.wallet.refresh_from_db()
    type(group.wallet).objects.filter(pk=group.wallet.pk).update(
        available_balance=usd("5.00"), balance=usd("5.00")
    )
    problems = find_problems()
    assert any(
        "group wallet" in problem and "stored 5.00, ledger says 0.00" in problem
        for problem in problems
    )


@pytest.mark.parametrize(
    "statement", ["UPDATE escrow_transactions SET amount = 1", "DELETE FROM escrow_transactions"]
)
def test_the_database_refuses_to_change_or_delete_ledger_entries(deal, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert EscrowTransaction.objects.count() == 2
    assert find_problems() == []


def test_the_orm_cannot_update_ledger_entries_either(deal):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EscrowTransaction.objects.update(memo="rewritten")


@pytest.mark.parametrize("table", ["escrow_transactions", "ledger_seals"])
@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only",
        "DROP TRIGGER {table}_append_only ON {table}",
    ],
)
def test_reconcile_finds_an_append_only_trigger_disabled_or_dropped(deal, table, statement):
    """Each append-only table's trigger (the ledger's, escrow 0005; its seals', 0010):
    without it the table could be rewritten, so reconcile says so, naming the table."""
    assert find_problems() == []
    with connection.cursor() as cursor:
        # The test's transaction has deferred foreign-key checks pending: run them first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement.format(table=table))  # undone with the test's transaction

    assert find_problems() == [f"the append-only trigger on {table} is missing or disabled"]
