"""Escrow transactions are append-only, enforced by the database itself.

A trigger refuses every UPDATE and DELETE, whoever sends it. (TRUNCATE, an operator's
whole-table reset, is left alone: test databases are flushed with it.)
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION escrow_transactions_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'escrow_transactions is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER escrow_transactions_append_only
    BEFORE UPDATE OR DELETE ON escrow_transactions
    FOR EACH ROW EXECUTE FUNCTION escrow_transactions_append_only();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS escrow_transactions_append_only ON escrow_transactions;
DROP FUNCTION IF EXISTS escrow_transactions_append_only();
"""
SQLITE_CREATE = [
    f"""CREATE TRIGGER escrow_transactions_no_{op.lower()} BEFORE {op} ON escrow_transactions
        BEGIN SELECT RAISE(ABORT, 'escrow_transactions is append-only: {op} refused'); END;"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS escrow_transactions_no_{op};" for op in ("update", "delete")
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [POSTGRESQL_CREATE] if vendor == "postgresql" else SQLITE_CREATE)


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [POSTGRESQL_DROP] if vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("escrow", "0004_wallet_constraints")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
