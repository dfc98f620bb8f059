"""Money exact on every database, and room for cumulative balances.

1. `wallet_balance_is_available_plus_escrow` compares whole cents,
   round(balance * 100) = round(available * 100) + round(escrow * 100): SQLite (the
   embedded default) stores decimal columns as doubles, where 0.10 + 0.20 != 0.30, and
   refused right balances with an IntegrityError. The integers are exact there, and say
   the same as the decimals on PostgreSQL.
2. The cached balances (wallets, group wallets, holds) widen from numeric(12,2) to
   numeric(15,2): 9 999 999 999 999.99 at most, the widest a double holds to the cent
   (see `escrow.models.BALANCE`). Ledger entries stay numeric(12,2): one entry is at most
   `MAX_AMOUNT`, and leaving the ledger table alone keeps its append-only triggers (SQLite
   rebuilds a table to alter a column).

Reversible: backwards narrows the columns again (refused by the database if a balance no
longer fits) and restores the original constraint.
"""

import djmoney.models.fields
import djmoney.money
from django.db import migrations, models
from django.db.models.functions import Round
from django.db.models.lookups import Exact


def money(max_digits):
    return djmoney.models.fields.MoneyField(
        decimal_places=2, default=djmoney.money.Money(0, "USD"), max_digits=max_digits
    )


def cents(field):
    return Round(models.F(field) * models.Value(100))


WIDENED = [
    ("escrowhold", "amount"),
    ("groupwallet", "available_balance"),
    ("groupwallet", "balance"),
    ("groupwallet", "escrow_balance"),
    ("groupwallet", "total_escrow_received"),
    ("wallet", "available_balance"),
    ("wallet", "balance"),
    ("wallet", "escrow_balance"),
]


class Migration(migrations.Migration):
    dependencies = [("escrow", "0007_adjustment_kind")]

    operations = [
        migrations.RemoveConstraint(
            model_name="wallet", name="wallet_balance_is_available_plus_escrow"
        ),
        *[
            migrations.AlterField(model_name=model, name=name, field=money(15))
            for model, name in WIDENED
        ],
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=Exact(
                    cents("balance"), cents("available_balance") + cents("escrow_balance")
                ),
                name="wallet_balance_is_available_plus_escrow",
            ),
        ),
    ]
