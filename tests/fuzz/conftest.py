"""What the fuzz tests share: the OpenAPI schema as the API serves it, one world of data
for the module (`tests.security.matrix_world`), each role's credentials, the money every
case must leave alone unless it succeeds, and a WSGI handler that keeps the test's
connection."""

import pytest
from django.core import signals
from django.db import close_old_connections
from rest_framework.test import APIClient

from tests.security.matrix_world import world_rolled_back

# Schemathesis' WSGI client sends `Host: localhost`.
TEST_HOSTS = ["localhost"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with world_rolled_back(django_db_blocker) as world:
        yield world


@pytest.fixture(scope="module")
def api_client():
    """One client for the module: a new one loads the middleware (and WhiteNoise reads
    every static file) again."""
    return APIClient()


@pytest.fixture
def wsgi_app(settings):
    """The WSGI application answers schemathesis' `Host: localhost`; and as Django's test
    client does, a request's end does not close the test's connection (its transaction
    holds the world)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, *TEST_HOSTS]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
