"""Discovery at scale: groups listed newest first from an index, and `?search=` (Django's
`icontains`, which PostgreSQL runs as `UPPER(column::text) LIKE UPPER(...)`) answered by
trigram indexes on exactly those expressions instead of reading every group. The
trigram part is PostgreSQL's (pg_trgm); the embedded default (SQLite) skips it."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEXES = {
    "groups_name_trgm": "name",
    "groups_description_trgm": "description",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON groups "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0012_name_skeletons")]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="group",
            index=models.Index(fields=["-created_at", "-id"], name="groups_newest_first"),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
