"""What every app's API shares: routes whose trailing slash is optional, the error body
in the schema, money amounts as two-place strings, pagination of plain `APIView`s, and
throttling of POSTs only."""

from django.urls import re_path
from drf_spectacular.utils import OpenApiExample, extend_schema_field, inline_serializer
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from .formats import amount_text


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with JSON nested too deeply for Python's decoder refused as a
    parse error (400) instead of escaping as a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None


def api_path(regex: str, view, name: str):
    """A route whose trailing slash is optional: `groups` and `groups/` both match, so
    no redirect ever drops a POST body."""
    # `(?:/)?` rather than `/?`: the schema then shows the path without the slash.
    return re_path(rf"^{regex}(?:/)?$", view, name=name)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, snake_case.")
    message = serializers.CharField(help_text="For humans.")
    fields = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors by field name (400 only).",
    )


class ErrorSerializer(serializers.Serializer):
    """Every non-2xx response (marketplace.core.api_errors)."""

    error = ErrorDetailSerializer()


def errors(*codes: int) -> dict:
    """`responses` entries for the given error statuses, all with the error body."""
    return dict.fromkeys(codes, ErrorSerializer)


def error_example(status_code: int, code: str, message: str, **fields) -> OpenApiExample:
    """A documented error response: `{"error": {"code", "message"}}` (with `fields`, the
    messages by field name, when given)."""
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return OpenApiExample(
        code, value={"error": error}, response_only=True, status_codes=[str(status_code)]
    )


# The rule every money-moving POST states in its description (marketplace.core.idempotency).
IDEMPOTENCY_RULE = (
    "Idempotent with an `Idempotency-Key` header: the same key and the same body within "
    "24 h replay the first successful response (header `Idempotent-Replayed: true`) and "
    "move no money a second time; the same key with another body or on another endpoint is "
    "409 `idempotency_key_reused`; a malformed key is 400 `invalid_idempotency_key`. A "
    "refused request is not stored: retrying it under the same key runs it again."
)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^-?\d+\.\d{2}$", "example": "12.50"}
)
class MoneyAmountField(serializers.Field):
    """A `Money` (or `Decimal`) rendered as a string with exactly two decimal places."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return amount_text(value)


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d{1,2})?$", "example": "12.50"}
)
class AmountInputField(serializers.Field):
    """A money amount as the client sent it (a JSON string, number or anything else, or a
    form value), untouched: `escrow.money.parse_amount` decides, so a float or a third
    decimal is refused with `invalid_amount` instead of being rounded on the way in."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


def paginated(serializer_class, name: str):
    """The schema of a paginated list of `serializer_class` items."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def paginated_response(*, request, view, queryset, serializer_class) -> Response:
    """`{"count", "next", "previous", "results"}` for one page of `queryset`."""
    paginator = api_settings.DEFAULT_PAGINATION_CLASS()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(data)


class PostThrottleMixin:
    """Throttle only the POSTs of a view that also answers GETs."""

    def get_throttles(self):
        if self.request.method == "POST":
            return [ScopedRateThrottle()]
        return super().get_throttles()
