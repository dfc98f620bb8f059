"""`POST /api/proposals/{id}/extend-auto-release {days}`: the buyer of a delivered
proposal pushes its automatic release back by 1 to 7 days, once. Answers with the new
release time, which pages and clients show as the countdown."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from marketplace.core.api_common import errors

from .api import NewWorkflowApi
from .selectors import proposal_get
from .services import AUTO_RELEASE_MAX_EXTENSION_DAYS, proposal_extend_auto_release


class ExtendInputSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=AUTO_RELEASE_MAX_EXTENSION_DAYS)


class AutoReleaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    auto_release_at = serializers.DateTimeField(allow_null=True)
    auto_release_extended_until = serializers.DateTimeField(allow_null=True)


class ProposalExtendAutoReleaseApi(NewWorkflowApi):
    @extend_schema(
        operation_id="proposals_extend_auto_release",
        request=ExtendInputSerializer,
        responses={200: AutoReleaseOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description=(
            "Pushes the automatic release of a delivered proposal's escrow back by `days`, "
            "and answers with the new release time. The buyer only (403 "
            "`permission_denied`; 404 for anyone who cannot see the proposal), once (409 "
            "`auto_release_already_extended`), while the proposal is delivered (409 "
            "`invalid_transition`); `days` from 1 to "
            f"{AUTO_RELEASE_MAX_EXTENSION_DAYS} (400)."
        ),
    )
    def post(self, request, proposal_id):
        proposal = proposal_get(proposal_id=proposal_id, user=request.user)
        serializer = ExtendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = proposal_extend_auto_release(
            proposal=proposal, actor=request.user, days=serializer.validated_data["days"]
        )
        return Response(AutoReleaseOutputSerializer(proposal).data)
