import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("escrow", "0003_opening_balances")]

    operations = [
        migrations.AddConstraint(
            model_name="groupwallet",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("available_balance__gte", 0),
                    ("escrow_balance__gte", 0),
                    ("total_escrow_received__gte", 0),
                ),
                name="group_wallet_balances_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="groupwallet",
            constraint=models.CheckConstraint(
                condition=models.Q(("balance", models.F("available_balance"))),
                name="group_wallet_balance_is_available",
            ),
        ),
        migrations.AddConstraint(
            model_name="groupwallet",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("available_balance_currency", models.F("balance_currency")),
                    ("escrow_balance_currency", models.F("balance_currency")),
                    ("total_escrow_received_currency", models.F("balance_currency")),
                ),
                name="group_wallet_single_currency",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "user"), ("user__isnull", False)),
                    models.Q(models.Q(("kind", "user"), _negated=True), ("user__isnull", True)),
                    _connector="OR",
                ),
                name="wallet_owner_matches_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "user"), _negated=True),
                fields=("kind", "balance_currency"),
                name="one_system_wallet_per_currency",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(("available_balance__gte", 0), ("escrow_balance__gte", 0)),
                name="wallet_balances_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "balance",
                        django.db.models.expressions.CombinedExpression(
                            models.F("available_balance"), "+", models.F("escrow_balance")
                        ),
                    )
                ),
                name="wallet_balance_is_available_plus_escrow",
            ),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("available_balance_currency", models.F("balance_currency")),
                    ("escrow_balance_currency", models.F("balance_currency")),
                ),
                name="wallet_single_currency",
            ),
        ),
    ]
