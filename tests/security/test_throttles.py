"""Who the client is behind the load balancer, and the per-address rate of every sign-in
and sign-up surface (API_THROTTLE_AUTH, TRUSTED_PROXY_COUNT)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from marketplace import settings as settings_module
from marketplace.core.throttling import client_address
from tests.factories import UserFactory

STRONG = "correct-horse-battery"
RATE = 20  # API_THROTTLE_AUTH's default, per minute


def address(remote: str = "10.9.9.9", forwarded: str | None = None) -> str:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


def register(client: APIClient, number: int, **extra):
    body = {"username": f"user{number}", "password": STRONG, "email": f"u{number}@example.com"}
    return client.post("/api/auth/register", body, format="json", **extra)


# --- the client address ----------------------------------------------------------------


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert address("10.0.0.1", "203.0.113.7") == "10.0.0.1"


def test_behind_one_proxy_the_client_is_the_right_most_entry(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote "1.2.3.4, 5.6.7.8" itself; the balancer appended what it saw.
    assert address("10.0.0.2", "1.2.3.4, 5.6.7.8, 198.51.100.20") == "198.51.100.20"
    assert address("10.0.0.2", "198.51.100.20") == "198.51.100.20"


def test_behind_two_proxies_the_client_is_second_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert address("10.0.0.3", "9.9.9.9, 198.51.100.21, 10.0.0.9") == "198.51.100.21"


def test_a_request_that_skipped_the_proxies_is_known_by_its_peer_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert address("10.0.0.4", "198.51.100.22") == "10.0.0.4"
    assert address("10.0.0.4") == "10.0.0.4"


def test_a_forwarded_entry_that_is_not_an_address_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert address("10.0.0.5", "1.2.3.4, not-an-ip") == "10.0.0.5"


def test_drf_reads_forwarded_for_with_the_same_proxy_count():
    assert api_settings.NUM_PROXIES == settings_module.TRUSTED_PROXY_COUNT


# --- the rate ------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotating_forwarded_for_does_not_escape_the_rate_without_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client = APIClient()
    for number in range(RATE):
        assert (
            register(client, number, HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code == 201
        )

    response = register(client, 99, HTTP_X_FORWARDED_FOR="203.0.113.200")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_behind_the_balancer_each_client_address_has_its_own_rate(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient(REMOTE_ADDR="10.0.0.10")  # every request comes from the balancer
    for number in range(RATE):
        forwarded = f"6.6.6.{number}, 198.51.100.1"  # the left part rotates, uselessly
        assert register(client, number, HTTP_X_FORWARDED_FOR=forwarded).status_code == 201
    assert register(client, 50, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429

    assert register(client, 51, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201


@pytest.mark.django_db
def test_sign_in_and_registration_share_the_rate(settings):
    UserFactory(username="carol", password=STRONG)
    client = APIClient()
    for number in range(RATE // 2):
        assert register(client, number).status_code == 201
    for _ in range(RATE // 2):
        body = {"username": "carol", "password": STRONG}
        assert client.post("/api/auth/token", body, format="json").status_code == 200

    body = {"username": "carol", "password": STRONG}
    assert client.post("/api/auth/token", body, format="json").status_code == 429


def signup(client: Client, number: int):
    return client.post(
        "/accounts/signup/",
        {
            "username": f"page{number}",
            "email": f"p{number}@example.com",
            "password1": STRONG,
            "password2": STRONG,
        },
    )


@pytest.mark.django_db
def test_the_signup_page_is_rated_per_address_with_a_clear_page():
    for number in range(RATE):
        client = Client()  # a new visitor each time, from the same address
        assert signup(client, number).status_code == 302

    response = signup(Client(), 99)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert b"Too many attempts" in response.content
    assert b"Please try again in 1 minute" in response.content
    assert not UserFactory._meta.model.objects.filter(username="page99").exists()
    # Another address is not affected.
    assert signup(Client(REMOTE_ADDR="10.1.1.1"), 100).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_login_pages_are_rated_per_address(path):
    UserFactory(username="dave", password=STRONG, is_staff=True)
    for _ in range(RATE):
        response = Client().post(path, {"username": "dave", "password": STRONG})
        assert response.status_code == 302

    response = Client().post(path, {"username": "dave", "password": STRONG})

    assert response.status_code == 429
    assert b"Too many attempts" in response.content


@pytest.mark.django_db
def test_reading_the_login_page_is_not_counted():
    for _ in range(RATE + 5):
        assert Client().get("/accounts/login/").status_code == 200


# --- the environment -------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["20/min", "5/s", "100/hour", "1000/day", " 7/m "])
def test_a_throttle_rate_is_read_from_the_environment(monkeypatch, raw):
    monkeypatch.setenv("API_THROTTLE_AUTH", raw)
    assert settings_module.env_throttle_rate("API_THROTTLE_AUTH", "20/min") == raw.strip()


@pytest.mark.parametrize("raw", ["20", "0/min", "20/fortnight", "-1/min", "20 / min", "x/min"])
def test_a_bad_throttle_rate_refuses_to_start_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("API_THROTTLE_AUTH", raw)
    with pytest.raises(ImproperlyConfigured, match="API_THROTTLE_AUTH"):
        settings_module.env_throttle_rate("API_THROTTLE_AUTH", "20/min")


def test_the_auth_rate_comes_from_api_throttle_auth():
    rates = settings_module.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates["auth"] == settings_module.API_THROTTLE_AUTH
