"""Output shapes of the ledger shared by the API and the realtime layer (a `wallet.updated`
frame carries the very JSON of `GET /api/wallet`)."""

from rest_framework import serializers

from marketplace.core.api_common import MoneyAmountField


class WalletOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = MoneyAmountField(help_text="available_balance + escrow_balance")
    available_balance = MoneyAmountField()
    escrow_balance = MoneyAmountField()
