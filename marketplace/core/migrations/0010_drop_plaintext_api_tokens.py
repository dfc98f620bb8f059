"""The old API tokens are gone: DRF's `rest_framework.authtoken` kept every key in plain
text (table `authtoken_token`). The API now uses django-rest-knox, which stores digests
with an expiry (`marketplace.core.api_tokens`), and the old app is no longer installed.

On a database that had the old app, this drops its table (with the plain-text keys, and
its foreign key to the users, which would otherwise refuse to delete a user who had a
token) and forgets its migrations, so that installing the app again would start clean.
Existing API clients must sign in again (`POST /api/auth/token`). On a new database
there is nothing to do. `manage.py remove_stale_contenttypes` clears its content types.

Reversing does nothing: the old keys cannot come back, and nothing reads that table.
"""

from django.apps import apps as global_apps
from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder

OLD_TABLE = "authtoken_token"
OLD_APP = "authtoken"


def drop_plaintext_tokens(apps, schema_editor):
    if global_apps.is_installed("rest_framework.authtoken"):
        return  # still in use: leave it alone
    connection = schema_editor.connection
    if OLD_TABLE in connection.introspection.table_names():
        schema_editor.execute(
            schema_editor.sql_delete_table % {"table": schema_editor.quote_name(OLD_TABLE)}
        )
    recorder = MigrationRecorder(connection)
    if recorder.has_table():
        recorder.migration_qs.filter(app=OLD_APP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0009_auto_release_reminder_kind"),
    ]

    operations = [
        migrations.RunPython(drop_plaintext_tokens, migrations.RunPython.noop, elidable=True),
    ]
