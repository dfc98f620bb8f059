"""Schemathesis over every operation of /api/schema/, as every role of the authorization
matrix, in-process (WSGI) against the real PostgreSQL test database: positive and
negative examples of every parameter and body the schema describes.

Each case must answer without a 5xx, conform to the schema (status, content type,
headers, body), and, unless it succeeded (2xx), leave every balance and the ledger
exactly as they were."""

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.security.matrix_world import ROLES

from .money import assert_money_unchanged_unless_success, money_snapshot
from .schema import EXCLUDED_CHECKS, auth_headers, schema

# Bounded so that the whole fuzz run stays within two minutes on two cores.
EXAMPLES_PER_ROLE = 3


@pytest.mark.django_db
@schema.parametrize()
@pytest.mark.parametrize("role", ROLES)
@hypothesis_settings(
    max_examples=EXAMPLES_PER_ROLE,
    deadline=None,
    # The same examples on every run: a failure here is a bug, never a flake.
    derandomize=True,
    # The world lives in the module's transaction and each test's savepoint, shared by
    # its examples on purpose; building big bodies can be slow.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_operation(case, role, world, wsgi_app):
    before = money_snapshot()

    headers = auth_headers(world, role)

    response = case.call(headers=headers)

    assert_money_unchanged_unless_success(response.status_code, before)
    case.validate_response(response, excluded_checks=EXCLUDED_CHECKS, headers=headers)
