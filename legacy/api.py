"""The deprecated project/order endpoints. They keep their old behaviour and tell clients
where to go next: `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a `Link` to the
successor (`rel="successor-version"`) on every response, errors included."""

from datetime import UTC, datetime, time

from django.conf import settings
from django.utils.http import http_date
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from escrow.money import parse_amount
from marketplace.core.api_common import (
    AmountInputField,
    MoneyAmountField,
    error_example,
    errors,
    paginated,
    paginated_response,
)
from marketplace.core.errors import NotFound
from marketplace.core.limits import DESCRIPTION_MAX_LENGTH
from marketplace.core.selectors import group_get

from . import selectors, services

SUCCESSOR = "/api/proposals"


def _timestamp(day) -> float:
    return datetime.combine(day, time.min, tzinfo=UTC).timestamp()


class DeprecatedApi(APIView):
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Deprecation"] = f"@{int(_timestamp(settings.LEGACY_API_DEPRECATED_ON))}"
        response["Sunset"] = http_date(_timestamp(settings.LEGACY_API_SUNSET_ON))
        response["Link"] = f'<{SUCCESSOR}>; rel="successor-version"'
        return response


DEPRECATION_NOTE = (
    "Deprecated: the project/order flow is replaced by conversations and proposals "
    f"({SUCCESSOR}). Responses carry Deprecation, Sunset and Link headers."
)


class ProjectOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    budget = MoneyAmountField()
    currency = serializers.CharField(source="budget.currency.code")
    status = serializers.CharField(help_text="`open`, or `continued` once in the new flow.")
    is_legacy = serializers.BooleanField()
    continued_conversation_id = serializers.IntegerField(
        allow_null=True, help_text="The conversation it was continued in, if any."
    )
    created_at = serializers.DateTimeField()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    buyer_id = serializers.IntegerField()
    amount = MoneyAmountField()
    currency = serializers.CharField(source="amount.currency.code")
    status = serializers.CharField()
    is_legacy = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ProjectListApi(DeprecatedApi):
    @extend_schema(
        operation_id="projects_list",
        deprecated=True,
        description=DEPRECATION_NOTE
        + " The caller's own projects, newest first; paginated (404 for a page past the last).",
        responses={200: paginated(ProjectOutputSerializer, "PaginatedProjectList"), **errors(401)},
    )
    def get(self, request):
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.project_list(owner=request.user),
            serializer_class=ProjectOutputSerializer,
        )


class ProjectCreateApi(DeprecatedApi):
    class ProjectCreateInputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(
            allow_blank=True, default="", max_length=DESCRIPTION_MAX_LENGTH
        )
        budget = AmountInputField()
        currency = serializers.CharField(required=False)

    @extend_schema(
        operation_id="projects_create",
        deprecated=True,
        description=DEPRECATION_NOTE
        + " Creates a project owned by the caller, with a budget (a decimal string; the "
        "currency defaults to USD). 400 `invalid_amount` (field `budget`), "
        "`invalid_currency`, or `invalid` naming the fields.",
        request=ProjectCreateInputSerializer,
        responses={201: ProjectOutputSerializer, **errors(400, 401)},
    )
    def post(self, request):
        serializer = self.ProjectCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = services.project_create(
            owner=request.user,
            title=data["title"],
            description=data["description"],
            budget=parse_amount(data["budget"], data.get("currency"), field="budget"),
        )
        return Response(ProjectOutputSerializer(project).data, status=status.HTTP_201_CREATED)


class OrderCreateApi(DeprecatedApi):
    class OrderCreateInputSerializer(serializers.Serializer):
        project_id = serializers.IntegerField()
        amount = AmountInputField()
        currency = serializers.CharField(required=False)

    @extend_schema(
        operation_id="orders_create",
        deprecated=True,
        description=DEPRECATION_NOTE
        + " The project's owner orders on it; no money moves. 404 for a project that is not "
        "the caller's; 409 `project_closed` unless the project is open, `currency_mismatch` "
        "for another currency than the budget's; 400 `invalid_amount`, `invalid_currency`.",
        request=OrderCreateInputSerializer,
        responses={
            201: OrderOutputSerializer,
            409: OpenApiResponse(errors(409)[409], description="project_closed, currency_mismatch"),
            **errors(400, 401, 404),
        },
    )
    def post(self, request):
        serializer = self.OrderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = services.order_create(
            buyer=request.user,
            project_id=data["project_id"],
            amount=parse_amount(data["amount"], data.get("currency")),
        )
        return Response(OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)


class ProjectContinueApi(APIView):
    """Not deprecated: the way out of the old flow."""

    class ProjectContinueInputSerializer(serializers.Serializer):
        group_id = serializers.IntegerField(help_text="The group to continue the project with.")

    class ProjectContinueOutputSerializer(serializers.Serializer):
        conversation_id = serializers.IntegerField()

    @extend_schema(
        operation_id="legacy_projects_continue",
        tags=["projects"],
        description=(
            "The project's owner continues it in the new flow with a group: opens (or reuses) "
            "the owner's conversation with the group, posts a system message carrying the "
            "project's title, description and budget (`metadata.legacy_project_id`), tells "
            "the group's leader (whose proposal form starts prefilled from it) and marks the "
            "project `continued`. 404 for a project that is not the caller's or an unknown "
            "group; 409 `already_continued` on a second call; 400 `own_group` for a group "
            "the caller belongs to."
        ),
        request=ProjectContinueInputSerializer,
        responses={
            201: ProjectContinueOutputSerializer,
            409: OpenApiResponse(errors(409)[409], description="already_continued"),
            **errors(400, 401, 404),
        },
        examples=[
            OpenApiExample(
                "continued",
                value={"conversation_id": 12},
                response_only=True,
                status_codes=["201"],
            ),
            error_example(409, "already_continued", "This project was already continued."),
        ],
    )
    def post(self, request, project_id):
        serializer = self.ProjectContinueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = selectors.project_list(owner=request.user).filter(pk=project_id).first()
        if project is None:
            raise NotFound("No such project.")
        group = group_get(group_id=serializer.validated_data["group_id"])
        conversation = services.project_continue(project=project, actor=request.user, group=group)
        return Response({"conversation_id": conversation.pk}, status=status.HTTP_201_CREATED)
