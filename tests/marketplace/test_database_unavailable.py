"""A request whose database connection was lost answers 503 with Retry-After and the
contract's error, never a 500 (issue 13, "failing well"). The fault is real: the test's
own PostgreSQL backend is terminated from a second connection."""

import psycopg
import pytest
from django.db import connection

from tests.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def kill_this_connection() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def reconnect_after():
    yield
    connection.close()  # the killed connection; the next query opens a new one


def test_the_api_answers_503_service_unavailable(reconnect_after):
    client = token_client(UserFactory())
    kill_this_connection()

    response = client.get("/api/me")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_a_page_answers_503_too(client, reconnect_after):
    client.force_login(UserFactory())
    kill_this_connection()

    response = client.get("/wallet/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"try again" in response.content


def _terminate_idle_backends() -> int:
    """Terminate every idle backend of the test database but the caller's own, and wait
    (up to 5 s each) until they are gone: what a PostgreSQL restart or an operator's
    pg_terminate_backend does to a pool."""
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "pool"):
        params.pop(name, None)
    with psycopg.connect(**params, autocommit=True) as killer:
        return killer.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND state = 'idle'"
        ).fetchone()[0]


@pytest.fixture
def fresh_pool():
    """A new pool for the test: threads of earlier tests (sockets run in executor threads)
    may still hold connections of the suite's pool, which a server's request threads,
    closing theirs after each request, never do."""
    connection.close()
    connection.close_pool()
    yield
    connection.close()


def test_a_pooled_connection_killed_while_idle_never_fails_the_next_request(fresh_pool):
    assert connection.pool is not None, "PostgreSQL connections come from the pool"
    client = token_client(UserFactory())
    assert client.get("/api/me").status_code == 200
    connection.close()  # the test's own connection goes back to the pool too

    assert _terminate_idle_backends() >= 1

    assert client.get("/api/me").status_code == 200


def test_sequential_requests_reuse_pooled_connections(fresh_pool):
    client = token_client(UserFactory())
    opened_before = connection.pool.get_stats().get("connections_num", 0)

    for _ in range(20):
        assert client.get("/api/me").status_code == 200

    opened = connection.pool.get_stats().get("connections_num", 0) - opened_before
    assert opened <= 2, f"{opened} new connections for 20 requests"
