"""The HTTP API of disputes (CONTRACT.md, "Disputes").

Thin like the proposals' API: parse, check that the caller may see the dispute or its
proposal (strangers get 404), call `disputes.services`, which decides who may do what (403)
and when (409), answer with `disputes.serializers`. Behind the rollout flag.
"""

from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from escrow.money import parse_amount
from marketplace.core.api_common import (
    IDEMPOTENCY_RULE,
    AmountInputField,
    PostThrottleMixin,
    error_example,
    errors,
)
from marketplace.core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from proposals import selectors as proposal_selectors
from proposals.api import MAX_ID, NewWorkflowApi

from . import selectors, services
from .models import Dispute
from .serializers import DisputeMessageOutputSerializer, DisputeOutputSerializer


def _dispute_response(dispute_id, user, *, status_code=status.HTTP_200_OK) -> Response:
    dispute = selectors.dispute_get(dispute_id=dispute_id, user=user)
    return Response(DisputeOutputSerializer(dispute).data, status=status_code)


def _resolved_example(*, outcome: str, refund_amount: str | None, note: str) -> dict:
    """A dispute on a 1000.00 USD proposal as `resolve` answers it, for the schema."""
    return {
        "id": 5,
        "proposal_id": 42,
        "opened_by": {"id": 11, "username": "alice"},
        "reason": "Half of the pages were not delivered.",
        "status": "resolved",
        "outcome": outcome,
        "refund_amount": refund_amount,
        "currency": "USD",
        "resolution_note": note,
        "resolved_by": {"id": 2, "username": "support"},
        "created_at": "2026-05-21T09:00:00.000000Z",
        "resolved_at": "2026-05-22T15:30:00.000000Z",
        "messages": [
            {
                "id": 31,
                "author": {"id": 12, "username": "bob"},
                "body": "The remaining pages are in the shared folder.",
                "created_at": "2026-05-21T10:15:00.000000Z",
            }
        ],
        "suggested_refund_amount": "500.00",
        "evidence": [
            {
                "kind": "auto",
                "topic": "terms",
                "occurred_at": None,
                "data": {
                    "title": "Landing pages",
                    "price": "1000.00",
                    "currency": "USD",
                    "platform_fee_rate": "0.1000",
                    "leader_commission_rate": "0.0500",
                    "due_date": "2026-06-01",
                    "pool_split": "equal",
                },
            },
            {
                "kind": "auto",
                "topic": "task",
                "occurred_at": None,
                "data": {"title": "Pages", "status": "done", "points": 1, "assignee": "bob"},
            },
            {
                "kind": "auto",
                "topic": "task",
                "occurred_at": None,
                "data": {"title": "Contact form", "status": "todo", "points": 1, "assignee": None},
            },
        ],
    }


_SPLIT_NOTE = "Half of the pages were delivered: 400.00 back to the buyer."
_REFUND_NOTE = "Nothing usable was delivered."


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
        "403 `permission_denied` for anyone but the buyer and the leader; 409 "
        "`invalid_transition` in any other status, `dispute_open` when it already has an "
        "open dispute; 400 `invalid` for a blank reason."
    ),
}


@transaction.atomic  # the answer is read before the commit, never after (a 503 then would lie)
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
            "A dispute with its status, outcome and evidence messages, oldest first, the "
            "snapshot frozen when it opened (`evidence`, items of kind `auto`) and the "
            "`suggested_refund_amount` the unfinished points give: for a 1000.00 proposal with "
            "tasks of 3, 2 and 1 points of which the 3 are done, 500.00. The parties (the "
            "buyer and the group's members) and the support role; anyone else 404."
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
            "Adds evidence to the dispute: from a party (the buyer or a member of the "
            "group) or support staff, while the dispute is open. 404 for anyone who cannot "
            "see the dispute (staff without the support role included); 409 "
            "`dispute_closed` once it is resolved; 400 `invalid` for a blank body; 429 "
            "`throttled` when the caller sends too many messages a minute."
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
            "proposal's rates, `settled`. 400 `invalid_refund_amount` (a split without an "
            "amount strictly between 0 and the price, to the cent, or an amount with another "
            "outcome), `invalid_amount`, `invalid_outcome`; 404 for anyone who cannot see "
            "the dispute; 409 `dispute_closed` once it is resolved, `invalid_transition`. "
            + IDEMPOTENCY_RULE
        ),
        examples=[
            OpenApiExample(
                "split",
                value={"outcome": "split", "refund_amount": "400.00", "note": _SPLIT_NOTE},
                request_only=True,
            ),
            OpenApiExample(
                "refund",
                value={"outcome": "refund", "note": _REFUND_NOTE},
                request_only=True,
            ),
            OpenApiExample(
                "release",
                value={"outcome": "release", "note": "The delivery matches the proposal."},
                request_only=True,
            ),
            OpenApiExample(
                "settled by a split",
                value=_resolved_example(outcome="split", refund_amount="400.00", note=_SPLIT_NOTE),
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "refunded",
                value=_resolved_example(
                    outcome="refund", refund_amount="1000.00", note=_REFUND_NOTE
                ),
                response_only=True,
                status_codes=["200"],
            ),
            error_example(
                400,
                "invalid_refund_amount",
                "A split refunds more than 0 and less than the price, 1000.00 USD, to the cent.",
            ),
            error_example(
                403,
                "permission_denied",
                "Your staff role does not allow you to resolve this dispute.",
            ),
            error_example(409, "dispute_closed", "This dispute is already resolved."),
        ],
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
