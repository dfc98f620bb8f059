from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField


class Wallet(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet")
    balance = MoneyField(max_digits=12, decimal_places=2, default=0, default_currency="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "wallets"


class GroupWallet(models.Model):
    group = models.OneToOneField("marketplace.Group", on_delete=models.PROTECT, related_name="wallet")
    balance = MoneyField(max_digits=12, decimal_places=2, default=0, default_currency="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "group_wallets"
