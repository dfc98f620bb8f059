"""The wallet statement as CSV: `GET /api/wallet/statement.csv` for API clients (token or
session, 401 otherwise) and `GET /wallet/statement.csv` for the pages (login required).
Rows come from `statements.wallet_statement_rows`."""

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from itertools import islice

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from marketplace.core.api_common import errors
from marketplace.core.errors import InvalidInput

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


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day_start(request, name: str) -> datetime | None:
    """The query parameter `name` (YYYY-MM-DD) as the start of that day in UTC."""
    raw = request.GET.get(name)
    if raw is None:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        return datetime.combine(date.fromisoformat(raw), time.min, tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"{name} must be a date as YYYY-MM-DD.", code="invalid_date") from None


LINES_PER_CHUNK = 1000


async def _in_chunks(lines: Iterator[str]) -> AsyncIterator[str]:
    """The lines, `LINES_PER_CHUNK` at a time, each chunk read in the request's own thread.
    Django's ASGI handler reads a synchronous iterator whole before it sends the first
    byte; this one it sends as it comes."""
    read = sync_to_async(lambda: "".join(islice(lines, LINES_PER_CHUNK)), thread_sensitive=True)
    try:
        while chunk := await read():
            yield chunk
    finally:  # a client gone mid-way: the rows' transaction ends in the thread it began in
        await sync_to_async(lines.close, thread_sensitive=True)()


def statement_response(request) -> StreamingHttpResponse:
    """The caller's statement, `from` (inclusive) `to` (exclusive) the given days when
    asked, streamed row by row: the first bytes leave before the last rows are read."""
    since, until = _day_start(request, "from"), _day_start(request, "to")
    wallet = selectors.wallet_get(user=request.user)
    rows = (
        statements.wallet_statement_rows(wallet=wallet, since=since, until=until)
        if wallet.pk
        else [statements.WALLET_STATEMENT_HEADER]
    )
    response = StreamingHttpResponse(
        _in_chunks(statements.csv_lines(rows)), content_type="text/csv; charset=utf-8"
    )
    name = f"wallet-statement-{request.user.username}-{timezone.now():%Y-%m-%d}.csv"
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
            **errors(400, 401),
        },
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="First day (UTC) to list, inclusive."
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, description="Day (UTC) to stop before, exclusive."
            ),
        ],
        description=(
            "The caller's wallet statement as a CSV download (`Content-Disposition: "
            "attachment`), every ledger entry touching the caller's wallet, oldest first, "
            "with its change to the available and escrow balances and both balances after "
            "it; the caller's own wallet only. `from` and `to` (YYYY-MM-DD, UTC) narrow it "
            "to those days, the balances still counting everything before. Streamed as it "
            "is read. Errors are the JSON error body (400 `invalid_date`, 401 without "
            "credentials)."
        ),
    )
    def get(self, request):
        return statement_response(request)


@require_GET
@login_required
def wallet_statement_page(request):
    try:
        return statement_response(request)
    except InvalidInput as refusal:
        return HttpResponseBadRequest(str(refusal), content_type="text/plain; charset=utf-8")
