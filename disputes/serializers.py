"""Output shapes of disputes and their evidence, shared by the API and the realtime
layer. Only fields that are the same whoever reads them."""

from rest_framework import serializers

from marketplace.core.api_common import MoneyAmountField
from marketplace.core.serializers import UserRefSerializer

from .models import Dispute, DisputeEvidenceItem


class DisputeMessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = UserRefSerializer()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class DisputeEvidenceItemOutputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=DisputeEvidenceItem.Kind.choices,
        help_text="`auto`: frozen from the proposal when the dispute opened.",
    )
    topic = serializers.ChoiceField(
        choices=DisputeEvidenceItem.Topic.choices,
        help_text="`terms` (price, rates, due_date, pool_split), `task` (title, status, points, "
        "assignee), `delivery` (delivered_at) or `message` (author, null for a system "
        "message, and body): one of the conversation's last 50 messages.",
    )
    occurred_at = serializers.DateTimeField(
        allow_null=True, help_text="When it happened: messages and the delivery; else null."
    )
    data = serializers.DictField(help_text="The frozen values, as described by `topic`.")


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
    suggested_refund_amount = MoneyAmountField(
        allow_null=True,
        help_text="What the unfinished work suggests refunding, frozen at opening: price * "
        "(points of tasks not done ÷ points of all tasks), half-up to the cent; null when "
        "the proposal has no tasks.",
    )
    currency = serializers.CharField(source="proposal.price.currency.code")
    resolution_note = serializers.CharField()
    resolved_by = UserRefSerializer(allow_null=True, help_text="null while open.")
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    messages = DisputeMessageOutputSerializer(
        source="messages.all", many=True, help_text="Evidence, oldest first."
    )
    evidence = DisputeEvidenceItemOutputSerializer(
        source="evidence_items.all",
        many=True,
        help_text="The snapshot frozen when the dispute opened: the terms, the tasks, the "
        "delivery (if delivered), then the last 50 messages, oldest first.",
    )

    def to_representation(self, dispute):
        data = super().to_representation(dispute)
        data["outcome"] = data["outcome"] or None
        return data
