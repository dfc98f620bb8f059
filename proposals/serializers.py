"""Output shapes of proposals and tasks, shared by the API and the realtime layer (the
websocket frames carry the very same JSON as the API's responses).

Only fields that are the same whoever reads them: no "can I accept this?" flags, so one
rendering can be sent to every participant.
"""

from rest_framework import serializers

from marketplace.core.api_common import MoneyAmountField
from marketplace.core.serializers import UserRefSerializer

from .models import Proposal, Task


class ProposalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    group_id = serializers.IntegerField(source="conversation.group_id")
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=Proposal.Status.choices)
    price = MoneyAmountField()
    currency = serializers.CharField(source="price.currency.code")
    platform_fee = MoneyAmountField(help_text="round_half_up(price * platform_fee_rate)")
    leader_commission = MoneyAmountField(help_text="round_half_up(price * leader_commission_rate)")
    member_pool = MoneyAmountField(help_text="price - platform_fee - leader_commission")
    escrow_amount = MoneyAmountField(
        help_text="Held in escrow: the price while accepted, in progress, delivered or "
        "disputed; 0.00 otherwise."
    )
    platform_fee_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    leader_commission_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    due_date = serializers.DateField(allow_null=True)
    pool_split = serializers.ChoiceField(
        choices=Proposal.PoolSplit.choices,
        help_text="How the member pool is shared: `equal`, or `task_points` (by the points "
        "of the done tasks assigned to each participant, largest remainders get the "
        "leftover cents, ties by order of joining; no done points: equal).",
    )
    is_legacy = serializers.BooleanField(help_text="Written by the old project/order system.")
    created_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    rejected_at = serializers.DateTimeField(allow_null=True)
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    disputed_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    auto_release_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="While delivered: when the escrow is released if the buyer neither "
        "confirms nor disputes (delivered_at + ESCROW_AUTO_RELEASE_DAYS, plus the buyer's "
        "one extension). Otherwise null.",
    )


class TaskOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    proposal_id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=Task.Status.choices)
    assigned_to = UserRefSerializer(allow_null=True, help_text="null while unassigned.")
    points = serializers.IntegerField(
        help_text="1 to 100; a task_points proposal's pool follows the done tasks' points."
    )
    due_date = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PoolShareSerializer(serializers.Serializer):
    user = UserRefSerializer()
    points = serializers.IntegerField(
        allow_null=True,
        help_text="task_points: the points of the done tasks assigned to them; equal: null.",
    )
    share = MoneyAmountField(help_text="Their part of the member pool if paid out now.")


class ProposalDetailOutputSerializer(ProposalOutputSerializer):
    pool_shares = PoolShareSerializer(
        many=True,
        help_text="Each sharer's part of the member pool so far, in order of joining, by "
        "`pool_split` (before acceptance: the group's members today). Empty once the "
        "escrow is paid out or refunded.",
    )
