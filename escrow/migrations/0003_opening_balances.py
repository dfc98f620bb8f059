"""Carry the old single `balance` into the ledger.

Each wallet's available balance starts at its old balance, with nothing in escrow, and
the ledger gets one `opening_balance` entry per funded wallet (from the external
account) so that `reconcile` holds from the first day: every cached balance is the sum
of its entries.
"""

from django.db import migrations
from django.db.models import Q
from djmoney.money import Money

BALANCE_COLUMNS = ("available_balance", "escrow_balance", "total_escrow_received")


def open_balances(apps, schema_editor):
    Wallet = apps.get_model("escrow", "Wallet")
    GroupWallet = apps.get_model("escrow", "GroupWallet")
    EscrowTransaction = apps.get_model("escrow", "EscrowTransaction")

    externals = {}

    def external_account(currency):
        # Not get_or_create: django-money's manager cannot expand its arguments on a
        # historical model. Money values, so the currency is not the field default's.
        if currency not in externals:
            zero = Money(0, currency)
            externals[currency] = Wallet.objects.filter(
                kind="external", balance_currency=currency
            ).first() or Wallet.objects.create(
                kind="external", balance=zero, available_balance=zero, escrow_balance=zero
            )
        return externals[currency]

    for model, side in ((Wallet, "to_wallet"), (GroupWallet, "to_group_wallet")):
        owned = model.objects.all()
        if model is Wallet:
            owned = owned.filter(kind="user")
        for wallet in owned.order_by("pk"):
            currency = wallet.balance_currency
            wallet.available_balance = wallet.balance.amount
            for column in BALANCE_COLUMNS:
                if hasattr(wallet, f"{column}_currency"):
                    setattr(wallet, f"{column}_currency", currency)
            wallet.escrow_balance = 0
            wallet.save()
            if wallet.balance.amount > 0:
                EscrowTransaction.objects.create(
                    kind="opening_balance",
                    amount=wallet.balance.amount,
                    amount_currency=currency,
                    from_wallet=external_account(currency),
                    idempotency_key=f"opening-balance:{model._meta.model_name}:{wallet.pk}",
                    memo="Balance carried over from the old system",
                    **{side: wallet},
                )


def close_balances(apps, schema_editor):
    """Back to the old schema: `balance` is still right (it always equals available plus
    escrow), so only the ledger's own rows go, before 0002's reversal drops its tables."""
    Wallet = apps.get_model("escrow", "Wallet")
    EscrowTransaction = apps.get_model("escrow", "EscrowTransaction")
    EscrowTransaction.objects.all().delete()
    Wallet.objects.filter(~Q(kind="user")).delete()


class Migration(migrations.Migration):
    dependencies = [("escrow", "0002_ledger")]

    operations = [migrations.RunPython(open_balances, close_balances)]
