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
