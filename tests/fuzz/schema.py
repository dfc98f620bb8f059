"""The OpenAPI schema the API serves at /api/schema/, loaded once through the WSGI
application, and the checks every fuzz case runs.

(The lazy `schemathesis.pytest.from_fixture` loader fails under pytest 9, so the schema
is loaded at import, as tests/api/test_schema.py does.)"""

import schemathesis
from django.core.wsgi import get_wsgi_application
from django.test import override_settings

from .conftest import TEST_HOSTS

with override_settings(ALLOWED_HOSTS=TEST_HOSTS):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
# The explicit examples and random generation; the coverage phase's exhaustive boundary
# values, once per role, would take the run far past its two minutes.
schema.config.phases.coverage.enabled = False

# Every check but two that judge how strict validation is, not whether the API keeps its
# schema: `positive_data_acceptance` wants a 2xx for any request the schema allows, but
# rules no schema states refuse some (a weak password, an unknown id, someone else's
# proposal); `negative_data_rejection` wants a 4xx for any request the schema forbids,
# but DRF reads some leniently (`?page=` is page 1). Still checked on every response:
# no 5xx, a documented status code, content type and headers, a conforming body.
EXCLUDED_CHECKS = [
    schemathesis.checks.positive_data_acceptance,
    schemathesis.checks.negative_data_rejection,
]


def auth_headers(world, role: str) -> dict:
    token = world.tokens.get(role)
    return {"Authorization": f"Token {token}"} if token else {}
