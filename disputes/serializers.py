"""Output shapes of disputes and their evidence, shared by the API and the realtime
layer. Only fields that are the same whoever reads them."""

from rest_framework import serializers

from marketplace.core.api_common import MoneyAmountField
from marketplace.core.serializers import UserRefSerializer

from .models import Dispute


class DisputeMessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = UserRefSerializer()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class DisputeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    proposal_id = serializers.IntegerField()
    opened_by = UserRefSerializer()
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=Dispute.Status.choices)
    outcome = serializers.ChoiceField(
        choices=Dispute.Outcome.choices, allow_null=True, help_text="null while open."
    )
    refund_amount = MoneyAmountField(
        allow_null=True,
        help_text="What the buyer got back: the price for a refund, part of it for a split, "
        "null for a release or while open.",
    )
    currency = serializers.CharField(source="proposal.price.currency.code")
    resolution_note = serializers.CharField()
    resolved_by = UserRefSerializer(allow_null=True, help_text="null while open.")
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    messages = DisputeMessageOutputSerializer(
        source="messages.all", many=True, help_text="Evidence, oldest first."
    )

    def to_representation(self, dispute):
        data = super().to_representation(dispute)
        data["outcome"] = data["outcome"] or None
        return data
