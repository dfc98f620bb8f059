"""`GET /api/ledger/seal` (CONTRACT.md, "Additions"): the latest ledger seal, for anyone
signed in to pin and compare later (`escrow.sealing`)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.api_common import error_example, errors
from marketplace.core.errors import NotFound

from .sealing import latest_seal


class LedgerSealOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    hash = serializers.CharField(
        help_text="sha256 (hex) of the previous seal's hash and the digests of the rows sealed."
    )
    sealed_through_id = serializers.IntegerField(
        help_text="Every escrow transaction up to this id is sealed by this seal or before it."
    )
    created_at = serializers.DateTimeField()


class LedgerSealApi(APIView):
    @extend_schema(
        operation_id="ledger_seal",
        responses={200: LedgerSealOutputSerializer, **errors(401, 404)},
        description=(
            "The latest seal of the escrow ledger's hash chain, for any signed-in user. "
            "Pin its `hash`: `manage.py reconcile` recomputes every seal, and a sealed "
            "ledger line changed, removed or inserted later changes it. 404 `not_found` "
            "until the first seal."
        ),
        examples=[
            OpenApiExample(
                "latest seal",
                value={
                    "id": 12,
                    "hash": "9f2c4e1a7b3d5c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f",
                    "sealed_through_id": 1042,
                    "created_at": "2026-05-04T09:31:00.000000Z",
                },
                response_only=True,
                status_codes=["200"],
            ),
            error_example(404, "not_found", "Nothing is sealed yet."),
        ],
    )
    def get(self, request):
        seal = latest_seal()
        if seal is None:
            raise NotFound("Nothing is sealed yet.")
        return Response(LedgerSealOutputSerializer(seal).data)
