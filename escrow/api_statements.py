"""The wallet statement as CSV: `GET /api/wallet/statement.csv` for API clients (token or
session, 401 otherwise) and `GET /wallet/statement.csv` for the pages (login required).
Rows come from `statements.wallet_statement_rows`."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from marketplace.core.api_common import errors

from . import selectors, statements


class CsvRenderer(BaseRenderer):
    """Lets clients ask for `text/csv`; errors are still the JSON error body."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str | bytes):
            return data
        return json.dumps(data)


def statement_response(user) -> HttpResponse:
    wallet = selectors.wallet_get(user=user)
    rows = statements.wallet_statement_rows(wallet=wallet) if wallet.pk else []
    body = statements.to_csv(rows or [statements.WALLET_STATEMENT_HEADER])
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"wallet-statement-{user.username}-{timezone.now():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


class WalletStatementCsvApi(APIView):
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        operation_id="wallet_statement_csv",
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description=(
                    "Header row, then every ledger entry touching the caller's wallet, "
                    "oldest first: " + ", ".join(statements.WALLET_STATEMENT_HEADER) + "."
                ),
            ),
            **errors(401),
        },
        description=(
            "The caller's wallet statement as a CSV download (`Content-Disposition: "
            "attachment`), every ledger entry touching the caller's wallet, oldest first, "
            "with its change to the available and escrow balances and both balances after "
            "it; the caller's own wallet only. Errors are the JSON error body (401 without "
            "credentials)."
        ),
    )
    def get(self, request):
        return statement_response(request.user)


@require_GET
@login_required
def wallet_statement_page(request):
    return statement_response(request.user)
