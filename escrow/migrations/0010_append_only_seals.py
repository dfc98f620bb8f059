"""Ledger seals are append-only too, enforced by the database as the ledger is (0005).

A trigger refuses every UPDATE and DELETE of a seal, whoever sends it, so a seal can be
neither rewritten to match a tampered ledger nor cut out of the chain. (TRUNCATE, an
operator's whole-table reset, is left alone: test databases are flushed with it.)
"""

from django.db import migrations

POSTGRESQL_CREATE = """
CREATE OR REPLACE FUNCTION ledger_seals_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_seals is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER ledger_seals_append_only
    BEFORE UPDATE OR DELETE ON ledger_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_seals_append_only();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS ledger_seals_append_only ON ledger_seals;
DROP FUNCTION IF EXISTS ledger_seals_append_only();
"""
SQLITE_CREATE = [
    f"""CREATE TRIGGER ledger_seals_no_{op.lower()} BEFORE {op} ON ledger_seals
        BEGIN SELECT RAISE(ABORT, 'ledger_seals is append-only: {op} refused'); END;"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS ledger_seals_no_{op};" for op in ("update", "delete")]


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
    dependencies = [("escrow", "0009_ledger_seals")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
