"""Failed sign-ins lock the account, and separately the client address, after
LOGIN_FAILURE_LIMIT failures (django-axes): on the API token endpoint, the login page
and the admin login alike; 429 with Retry-After on the API, a clear page elsewhere."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
STRONG = "correct-horse-battery"
LIMIT = 10  # LOGIN_FAILURE_LIMIT's default
LOCKOUT_SECONDS = 15 * 60  # LOGIN_LOCKOUT_MINUTES's default


@pytest.fixture(autouse=True)
def _behind_the_balancer(settings):
    # Each request's address comes from X-Forwarded-For, so tests can play many clients.
    settings.TRUSTED_PROXY_COUNT = 1


def token(username: str, password: str, address: str):
    return APIClient().post(
        "/api/auth/token",
        {"username": username, "password": password},
        format="json",
        HTTP_X_FORWARDED_FOR=address,
    )


def test_failures_from_many_addresses_lock_the_account_even_for_the_right_password():
    UserFactory(username="alice", password=STRONG)
    for number in range(LIMIT - 1):
        assert token("alice", "wrong", f"203.0.113.{number}").status_code == 400
    # The failure that reaches the limit is answered with the lockout already.
    assert token("alice", "wrong", "203.0.113.99").status_code == 429

    response = token("alice", STRONG, "198.51.100.1")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "Too many failed sign-ins" in response.json()["error"]["message"]
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)


def test_one_failure_fewer_than_the_limit_still_signs_in():
    UserFactory(username="alice", password=STRONG)
    for number in range(LIMIT - 1):
        assert token("alice", "wrong", f"203.0.113.{number}").status_code == 400

    assert token("alice", STRONG, "198.51.100.1").status_code == 200


def test_the_account_is_counted_whatever_case_or_width_the_name_is_typed_in():
    UserFactory(username="alice", password=STRONG)
    spellings = ["ALICE", "Alice", "\uff21lice", "alice"]  # \uff21: fullwidth A
    for number in range(LIMIT):
        spelling = spellings[number % len(spellings)]
        token(spelling, "wrong", f"203.0.113.{number}")

    assert token("alice", STRONG, "198.51.100.1").status_code == 429


def test_failures_on_many_accounts_from_one_address_lock_the_address():
    UserFactory(username="bob", password=STRONG)
    for number in range(LIMIT - 1):
        assert token(f"someone{number}", "wrong", "203.0.113.50").status_code == 400
    assert token("someone-else", "wrong", "203.0.113.50").status_code == 429

    assert token("bob", STRONG, "203.0.113.50").status_code == 429
    # Bob himself, from elsewhere, is not locked out.
    assert token("bob", STRONG, "198.51.100.2").status_code == 200


def test_a_locked_account_does_not_lock_other_accounts():
    UserFactory(username="alice", password=STRONG)
    UserFactory(username="carol", password=STRONG)
    for number in range(LIMIT):
        token("alice", "wrong", f"203.0.113.{number}")

    assert token("carol", STRONG, "198.51.100.3").status_code == 200


def page_login(path: str, username: str, password: str, address: str):
    return Client().post(
        path, {"username": username, "password": password}, HTTP_X_FORWARDED_FOR=address
    )


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_lock_the_account_with_a_clear_page(path):
    UserFactory(username="erin", password=STRONG, is_staff=True)
    for number in range(LIMIT - 1):
        response = page_login(path, "erin", "wrong", f"203.0.113.{number}")
        assert response.status_code == 200  # the form again, with its error
    assert page_login(path, "erin", "wrong", "203.0.113.99").status_code == 429

    response = page_login(path, "erin", STRONG, "198.51.100.4")

    assert response.status_code == 429
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)
    page = response.content.decode()
    assert "too many failed sign-ins for this account or from your network" in page
    assert "Please try again in 15 minutes." in page
    assert "_auth_user_id" not in response.client.session


def test_page_and_api_failures_add_up_for_one_account():
    UserFactory(username="frank", password=STRONG)
    for number in range(LIMIT // 2):
        page_login("/accounts/login/", "frank", "wrong", f"203.0.113.{number}")
        token("frank", "wrong", f"203.0.114.{number}")

    assert token("frank", STRONG, "198.51.100.5").status_code == 429
