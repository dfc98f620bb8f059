"""An account's entries, side by side: one (account, created_at, id) index per account
column of the ledger, so that each side of `escrow.wallet_entries` is read in time order
from its own index instead of collecting and sorting every entry of the account. Indexes
only: the ledger table and its append-only triggers are left as they are (SQLite rebuilds
a table to alter a column)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("escrow", "0010_append_only_seals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="escrowtransaction",
            index=models.Index(
                fields=["to_wallet", "created_at", "id"], name="entries_to_wallet_time"
            ),
        ),
        migrations.AddIndex(
            model_name="escrowtransaction",
            index=models.Index(
                fields=["from_wallet", "created_at", "id"], name="entries_from_wallet_time"
            ),
        ),
        migrations.AddIndex(
            model_name="escrowtransaction",
            index=models.Index(
                fields=["to_group_wallet", "created_at", "id"], name="entries_to_group_wallet_time"
            ),
        ),
        migrations.AddIndex(
            model_name="escrowtransaction",
            index=models.Index(
                fields=["from_group_wallet", "created_at", "id"],
                name="entries_from_group_wallet_time",
            ),
        ),
        migrations.AddIndex(
            model_name="escrowtransaction",
            index=models.Index(fields=["to_hold", "created_at", "id"], name="entries_to_hold_time"),
        ),
        migrations.AddIndex(
            model_name="escrowtransaction",
            index=models.Index(
                fields=["from_hold", "created_at", "id"], name="entries_from_hold_time"
            ),
        ),
    ]
