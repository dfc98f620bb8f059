"""The HTTP API of disputes (CONTRACT.md, "Disputes").

Thin like the proposals' API: parse, check that the caller may see the dispute or its
proposal (strangers get 404), call `disputes.services`, which decides who may do what (403)
and when (409), answer with `disputes.serializers`. Behind the rollout flag.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from escrow.money import parse_amount
from marketplace.core.api_common import AmountInputField, PostThrottleMixin, errors
from marketplace.core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from proposals import selectors as proposal_selectors
from proposals.api import MAX_ID, NewWorkflowApi

from . import selectors, services
from .models import Dispute
from .serializers import DisputeMessageOutputSerializer, DisputeOutputSerializer


def _dispute_response(dispute_id, user, *, status_code=status.HTTP_200_OK) -> Response:
    dispute = selectors.dispute_get(dispute_id=dispute_id, user=user)
    return Response(DisputeOutputSerializer(dispute).data, status=status_code)


class DisputeOpenInputSerializer(serializers.Serializer):
    proposal_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    reason = serializers.CharField(max_length=5000)


_OPEN_SCHEMA = {
    "request": DisputeOpenInputSerializer,
    "responses": {201: DisputeOutputSerializer, **errors(400, 401, 403, 404, 409)},
    "description": (
        "The buyer or the group's leader disputes an accepted, in-progress or delivered "
        "proposal: it becomes `disputed` and its escrow is frozen (no confirmation, no "
        "auto-release) until staff resolve it. 404 when the proposal is not the caller's; "
        "403 for anyone but the buyer and the leader; 409 `invalid_transition` in any other "
        "status."
    ),
}


def _open(request) -> Response:
    serializer = DisputeOpenInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    proposal = proposal_selectors.proposal_get(proposal_id=data["proposal_id"], user=request.user)
    dispute = services.dispute_open(proposal=proposal, actor=request.user, reason=data["reason"])
    return _dispute_response(dispute.pk, request.user, status_code=status.HTTP_201_CREATED)


class DisputeOpenAliasApi(NewWorkflowApi):
    @extend_schema(operation_id="disputes_create_alias", **_OPEN_SCHEMA)
    def post(self, request):
        return _open(request)


class DisputeOpenApi(NewWorkflowApi):
    @extend_schema(operation_id="disputes_create", **_OPEN_SCHEMA)
    def post(self, request):
        return _open(request)


class DisputeDetailApi(NewWorkflowApi):
    @extend_schema(
        operation_id="disputes_retrieve",
        responses={200: DisputeOutputSerializer, **errors(401, 403, 404)},
        description=(
            "With its evidence, oldest first. The parties (the buyer and the group's "
            "members) and staff; anyone else 404."
        ),
    )
    def get(self, request, dispute_id):
        return _dispute_response(dispute_id, request.user)


class DisputeMessageCreateApi(PostThrottleMixin, NewWorkflowApi):
    throttle_scope = "messages"

    class DisputeMessageInputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=5000)

    @extend_schema(
        operation_id="disputes_messages_create",
        request=DisputeMessageInputSerializer,
        responses={201: DisputeMessageOutputSerializer, **errors(400, 401, 403, 404, 409, 429)},
        description=(
            "Evidence from a party or staff while the dispute is open; 409 `dispute_closed` "
            "once it is resolved."
        ),
    )
    def post(self, request, dispute_id):
        dispute = selectors.dispute_get(dispute_id=dispute_id, user=request.user)
        serializer = self.DisputeMessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.dispute_add_message(
            dispute=dispute, actor=request.user, body=serializer.validated_data["body"]
        )
        return Response(
            DisputeMessageOutputSerializer(message).data, status=status.HTTP_201_CREATED
        )


class DisputeResolveApi(NewWorkflowApi):
    class DisputeResolveInputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=Dispute.Outcome.choices)
        refund_amount = AmountInputField(
            required=False,
            allow_null=True,
            help_text="Split only: what the buyer gets back, more than 0 and less than the "
            "price, in the proposal's currency.",
        )
        note = serializers.CharField(max_length=5000, help_text="Why; kept on the dispute.")

    @extend_schema(
        operation_id="disputes_resolve",
        request=DisputeResolveInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: DisputeOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description=(
            "The support role only, never a party to the case (403, before the body is "
            "read). `refund`: the whole escrow back to the buyer, "
            "proposal `refunded`; `release`: paid out as a confirmation would, `completed`; "
            "`split`: `refund_amount` back to the buyer and the rest released under the "
            "proposal's rates, `settled`. 400 `invalid_refund_amount`; 409 `dispute_closed`, "
            "`idempotency_key_reused`."
        ),
    )
    @idempotent
    def post(self, request, dispute_id):
        dispute = selectors.dispute_get(dispute_id=dispute_id, user=request.user)
        services.dispute_require_resolver(proposal=dispute.proposal, actor=request.user)
        serializer = self.DisputeResolveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        refund_amount = data.get("refund_amount")
        if refund_amount is not None:
            currency = str(dispute.proposal.price.currency)
            refund_amount = parse_amount(refund_amount, currency, field="refund_amount")
        services.dispute_resolve(
            dispute=dispute,
            actor=request.user,
            outcome=data["outcome"],
            note=data["note"],
            refund_amount=refund_amount,
        )
        return _dispute_response(dispute.pk, request.user)
