"""Targeted hostile inputs, sent to every operation that reads a body by the role allowed to
call it (from the authorization matrix's table, with the table's valid body as the base),
so validation, not authorization, meets them:

- every text field of the request schema, one at a time, set to a NUL, right-to-left
  marks, Arabic-Indic digits, "1e30", 10 000 characters and a lone surrogate;
- malformed and deeply nested JSON, a body above Django's upload limit, and content types
  the API does not read.

Every answer: no 5xx, a status code the schema documents for the operation, the
contract's JSON error body for a refusal, and no balance moved unless it succeeded.
"""

import json

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from tests.security.matrix_table import API, Row

from .money import assert_money_unchanged_unless_success, money_snapshot
from .schema import EXCLUDED_CHECKS, auth_headers, schema

HOSTILE_TEXTS = {
    "nul": "a\x00b",
    "rtl_marks": "\u202egnp.exe\u202c\u200f",
    "arabic_indic_digits": "١٢",
    "exponent": "1e30",
    "ten_thousand_chars": "x" * 10_000,
    "lone_surrogate": "\ud800",
}
WRITE_METHODS = {"POST", "PATCH", "PUT"}
OPENAPI = SchemaGenerator().get_schema(request=None, public=True)


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        node = OPENAPI["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def text_fields(row: Row) -> list[str]:
    """The request body's string fields (and lists of strings) for the row's operation."""
    operation = OPENAPI["paths"][row.path][row.method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return []
    properties = _resolve(content["application/json"]["schema"]).get("properties", {})
    return [
        name
        for name, spec in properties.items()
        if not spec.get("readOnly")
        and (spec.get("type") == "string" or spec.get("items", {}).get("type") == "string")
    ]


def actor(row: Row) -> str:
    """The first role the table lets through: the one whose input gets validated."""
    return next(role for role, outcome in row.expect.items() if 200 <= outcome < 300)


def documented_statuses(row: Row) -> set[int]:
    return {int(code) for code in OPENAPI["paths"][row.path][row.method.lower()]["responses"]}


BODY_ROWS = [row for row in API if row.method in WRITE_METHODS and row.path in OPENAPI["paths"]]
FIELD_CASES = [
    pytest.param(row, field, id=f"{row.name} {field}")
    for row in BODY_ROWS
    for field in text_fields(row)
]


def _with_text(body, field: str, value: str):
    body = dict(body or {})
    body[field] = [value] if isinstance(body.get(field), list) else value
    return body


def test_every_operation_with_a_body_is_fuzzed():
    operations = {
        f"{method.upper()} {path}"
        for path, item in OPENAPI["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert operations <= {row.name for row in BODY_ROWS}
    assert len(FIELD_CASES) >= len(operations)


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "field"), FIELD_CASES)
def test_hostile_text_in_every_field(row, field, world, wsgi_app):
    operation = schema.find_operation_by_path(row.method, row.path)
    headers = auth_headers(world, actor(row))
    path_parameters = {name: world.ids[value] for name, value in row.ids.items()}
    for name, value in HOSTILE_TEXTS.items():
        # Each value meets the world as it was: a savepoint, rolled back.
        with transaction.atomic():
            before = money_snapshot()
            case = operation.Case(
                path_parameters=path_parameters,
                body=_with_text(row.data(world.ids), field, value),
                media_type="application/json",
            )
            response = case.call(headers=headers)

            assert response.status_code < 500, (name, response.text[:300])
            assert_money_unchanged_unless_success(response.status_code, before)
            case.validate_response(response, excluded_checks=EXCLUDED_CHECKS, headers=headers)
            transaction.set_rollback(True)


# --- bodies the API cannot read ----------------------------------------------------------

DEEP = 100_000
UNREADABLE = {
    "truncated_json": ("application/json", b'{"title": "Shop", "price": '),
    "not_json": ("application/json", b"<xml>hello</xml>"),
    "deeply_nested_json": ("application/json", b"[" * DEEP + b"]" * DEEP),
    "invalid_utf8_json": ("application/json", b'{"title": "\xff\xfe"}'),
    "above_upload_limit": (
        "application/json",
        json.dumps({"name": "x" * 3_000_000, "body": "x"}).encode(),
    ),
    "plain_text": ("text/plain", b"hello"),
    "xml": ("application/xml", b"<group><name>x</name></group>"),
    "no_content_type": ("", b'{"name": "x"}'),
}


@pytest.mark.django_db
@pytest.mark.parametrize("row", BODY_ROWS, ids=lambda row: row.name)
def test_unreadable_bodies_are_refused_as_documented(row, world, api_client):
    client = api_client
    client.cookies.clear()
    client.credentials()
    if token := world.tokens.get(actor(row)):
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    url = row.url(world.ids)
    documented = documented_statuses(row)
    for name, (content_type, payload) in UNREADABLE.items():
        with transaction.atomic():
            before = money_snapshot()

            response = client.generic(row.method, url, payload, content_type=content_type)

            assert response.status_code in documented, (
                name,
                response.status_code,
                response.content[:300],
            )
            assert_money_unchanged_unless_success(response.status_code, before)
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["code"] and error["code"] != "error", (name, error)
            transaction.set_rollback(True)
