"""Test configuration. The suite runs on the real servers, PostgreSQL and Redis: a
missing server stops the run loudly, it is never skipped.

One exception, asked for explicitly: `pytest --embedded tests/embedded` runs the tests
marked `embedded` (the money story) on the embedded default that `make run` uses, SQLite
and the in-memory channel layer, with `DATABASE_URL` and `REDIS_URL` unset. That run
refuses any other test, and every other run still refuses anything but PostgreSQL.
`make test` runs both."""

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

EMBEDDED = "embedded"


def pytest_addoption(parser):
    parser.addoption(
        "--embedded",
        action="store_true",
        default=False,
        help="Run only the tests marked `embedded` on the embedded default (SQLite, "
        "in-memory channel layer): DATABASE_URL and REDIS_URL must be unset.",
    )


def embedded_run(config) -> bool:
    return bool(config.getoption("--embedded"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"{EMBEDDED}: runs on PostgreSQL with the suite and also on the embedded default "
        "(SQLite) with `pytest --embedded tests/embedded`",
    )
    engine = settings.DATABASES["default"]["ENGINE"]
    if embedded_run(config):
        if "sqlite3" not in engine or settings.REDIS_URL:
            pytest.exit(
                f"--embedded runs on the embedded default (SQLite, no Redis), not {engine}"
                f"{' with Redis' if settings.REDIS_URL else ''}: unset DATABASE_URL and "
                "REDIS_URL (`make test` does).",
                returncode=2,
            )
        return
    if "postgresql" not in engine:
        pytest.exit(
            f"The tests run on PostgreSQL, not {engine}: set DATABASE_URL (`make test` does). "
            "Only `pytest --embedded tests/embedded` runs on the embedded default.",
            returncode=2,
        )
    if not settings.REDIS_URL:
        pytest.exit("The tests need Redis: set REDIS_URL (`make test` does).", returncode=2)
    try:
        redis.Redis.from_url(settings.REDIS_URL).ping()
    except redis.RedisError as error:
        pytest.exit(f"Redis at {settings.REDIS_URL} does not answer: {error}", returncode=2)


def pytest_collection_modifyitems(config, items):
    if not embedded_run(config):
        return
    others = [item.nodeid for item in items if not item.get_closest_marker(EMBEDDED)]
    if others:
        pytest.exit(
            f"--embedded runs only tests marked `{EMBEDDED}` (tests/embedded); "
            f"{len(others)} other test(s) selected, e.g. {others[0]}",
            returncode=2,
        )
    if not items:
        pytest.exit("--embedded selected no tests: run it on tests/embedded.", returncode=2)


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
        if embedded_run(request.config):
            assert request.node.get_closest_marker(EMBEDDED)
            assert connection.vendor == "sqlite"
        else:
            assert connection.vendor == "postgresql"


@pytest.fixture
def ledger_clean():
    """Call after an operation: asserts every ledger invariant holds."""
    from escrow.reconcile import find_problems

    def check():
        problems = find_problems()
        assert problems == [], "\n".join(problems)

    return check


def run_background_tasks() -> None:
    """Run the queued background tasks (e-mail) as `manage.py db_worker` does, in the
    test's own transaction (the command would recycle the connection between tasks)."""
    worker = Worker(
        queue_names=["default"],
        excluded_queue_names=[],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
    )
    for task_result in DBTaskResult.objects.ready().order_by("enqueued_at"):
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)


def issue_token(user) -> str:
    """A new API token's key for the user, issued as `POST /api/auth/token` issues it (the
    database keeps only its digest). The one way the tests get a token."""
    from django.db import transaction

    from marketplace.core.api_tokens import token_issue

    with transaction.atomic():
        return token_issue(user)


def token_client(user):
    """An APIClient that authenticates the way API clients do: with a token of the user."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


@pytest.fixture
def anon():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def client_for():
    """`client_for(user)`: an APIClient sending the user's token."""
    return token_client


def streamed_text(response) -> str:
    """A streamed response's text (a statement), read to the end as the ASGI server
    reads it: through its asynchronous iterator."""
    from asgiref.sync import async_to_sync

    assert response.streaming and response.is_async

    async def read() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return async_to_sync(read)().decode()
