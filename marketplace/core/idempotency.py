"""The `Idempotency-Key` header on POSTs that move money (CONTRACT.md, "General").

Decorate the handler of a DRF view with `@idempotent`. A request without the header runs
as usual. With it, the first request runs and its response (status and JSON body) is
stored under (user, key) together with a fingerprint of the request (sha256 of method,
path and canonical JSON body). Within 24 hours:

- the same key with the same request replays the stored response, with the header
  `Idempotent-Replayed: true`, and runs nothing;
- the same key with another request (another body, or another endpoint) gets 409
  `idempotency_key_reused`.

Concurrency (insert first): the record is inserted *before* the handler runs, in the
same transaction as the handler's effect. A concurrent request with the same key blocks
on the unique index until the first one commits, then finds the stored response and
replays it; if the first rolled back, the second's insert goes through and it runs
itself. Exactly one of them runs the effect.

Only successful (2xx) responses are stored. A refused request has changed nothing (the
services refuse before they write), so retrying it under the same key runs it again: a
withdrawal refused for `insufficient_funds` may go through after a deposit.

The HTTP record is one line of defence; the ledger is the other. Handlers pass the
client's key (`client_key(request)`) to the money service, which files it in the
namespace of its own operation and account (`escrow.services`), so even after the
record has expired the ledger posts the operation once, and no key can reach anybody
else's entries.
"""

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.response import Response

from .errors import Conflict, InvalidInput
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 100
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]+$")

# For `extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])`.
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional client-chosen key (1-100 printable ASCII characters). Retrying with the "
        "same key and body within 24 h replays the first successful response without a "
        "second effect; the same key with another body is refused with 409 "
        "`idempotency_key_reused`."
    ),
)


class _NotStored(Exception):
    """Carries a non-2xx response out of the transaction, which then rolls back."""

    def __init__(self, response):
        self.response = response


def client_key(request) -> str | None:
    """The request's `Idempotency-Key`, validated; None when absent."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) > MAX_KEY_LENGTH or not _KEY_PATTERN.match(key):
        raise InvalidInput(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


def request_fingerprint(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict (form or multipart body)
        data = {name: values for name, values in data.lists()}
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    path = request.path.rstrip("/")
    return hashlib.sha256(f"{request.method}\n{path}\n{body}".encode()).hexdigest()


def _insert(*, user, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the record in one statement, or None when (user, key) is taken. A
    concurrent insert of the same key waits here until the other transaction ends."""
    record = IdempotencyRecord(user=user, key=key, fingerprint=fingerprint)
    record.created_at = timezone.now()
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (user_id, key, fingerprint, response_body, created_at)"
            " VALUES (%s, %s, %s, '', %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user.pk, key, fingerprint, record.created_at],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    record.pk = row[0]
    return record


def _claim(*, user, key: str, fingerprint: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the record, or find the one a concurrent or earlier request committed.
    Returns it and whether this request claimed it (and so must run the handler)."""
    record = _insert(user=user, key=key, fingerprint=fingerprint)
    if record is not None:
        return record, True
    record = IdempotencyRecord.objects.get(user=user, key=key)
    cutoff = timezone.now() - TTL
    if record.created_at >= cutoff:
        return record, False
    # Expired but not purged yet (`purge_expired` runs beside the server, not in the
    # request): the key is free again. Of two requests renewing it, the conditional
    # update lets one through; the other waits for it and replays its answer.
    renewed = IdempotencyRecord.objects.filter(pk=record.pk, created_at__lt=cutoff).update(
        fingerprint=fingerprint, response_status=None, response_body="", created_at=timezone.now()
    )
    if renewed:
        record.fingerprint = fingerprint
        return record, True
    return IdempotencyRecord.objects.get(pk=record.pk), False


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Conflict(
            f"The {HEADER} {record.key!r} was already used for a different request.",
            code="idempotency_key_reused",
        )
    return Response(
        json.loads(record.response_body),
        status=record.response_status,
        headers={REPLAYED_HEADER: "true"},
    )


def idempotent(handler):
    """Decorator for a DRF view's `post` (runs after authentication, permissions and
    throttling, so `request.user` is known)."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = client_key(request)
        if key is None or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        try:
            with transaction.atomic():
                record, claimed = _claim(user=request.user, key=key, fingerprint=fingerprint)
                if not claimed:
                    return _replay(record, fingerprint)
                response = handler(view, request, *args, **kwargs)
                if not status.is_success(response.status_code):
                    raise _NotStored(response)
                record.response_status = response.status_code
                record.response_body = json.dumps(response.data, cls=DjangoJSONEncoder)
                record.save(update_fields=["response_status", "response_body"])
                return response
        except _NotStored as not_stored:
            return not_stored.response

    return wrapper


def purge_expired(*, now=None) -> int:
    """Delete records older than 24 h (`manage.py purge_idempotency_records`, run by the
    worker); returns how many. An expired key that comes back before the purge is renewed
    by `_claim`."""
    cutoff = (now or timezone.now()) - TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
