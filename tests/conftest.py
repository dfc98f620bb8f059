"""Test configuration. The suite runs on the real servers, PostgreSQL and Redis: a
missing server stops the run loudly, it is never skipped."""

import pytest
import redis
from django.conf import settings
from django.db import connection


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            f"The tests run on PostgreSQL, not {engine}: set DATABASE_URL (`make test` does).",
            returncode=2,
        )
    if not settings.REDIS_URL:
        pytest.exit("The tests need Redis: set REDIS_URL (`make test` does).", returncode=2)
    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except redis.RedisError as error:
        pytest.exit(f"Redis at {settings.REDIS_URL} does not answer: {error}", returncode=2)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Hashing strength is not under test; PBKDF2's cost would dominate the suite's time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _static_from_finders(settings):
    # The suite runs with DEBUG off, whose manifest storage needs `collectstatic` first;
    # pages under test read static files straight from the apps instead.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The cache lives in Redis and holds rate-limit counters: each test starts at zero.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _postgresql_only(request):
    if request.node.get_closest_marker("django_db"):
        assert connection.vendor == "postgresql"


@pytest.fixture
def ledger_clean():
    """Call after an operation: asserts every ledger invariant holds."""
    from escrow.reconcile import find_problems

    def check():
        problems = find_problems()
        assert problems == [], "\n".join(problems)

    return check


def token_client(user):
    """An APIClient that authenticates the way API clients do: with the user's token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def anon():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)`: an APIClient sending the user's token."""
    return token_client
