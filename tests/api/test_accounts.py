"""POST /api/auth/register, POST /api/auth/token, GET /api/me."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from escrow.models import Wallet
from tests.factories import UserFactory

from .conftest import fund

pytestmark = pytest.mark.django_db
User = get_user_model()
STRONG = "correct-horse-battery"


def register(client, **overrides):
    body = {"username": "bob", "password": STRONG, "email": "bob@example.com", **overrides}
    return client.post("/api/auth/register", body, format="json")


def test_register_creates_the_user_and_an_empty_wallet(anon):
    response = register(anon)

    assert response.status_code == 201
    user = User.objects.get(username="bob")
    assert response.json() == {"id": user.pk, "username": "bob"}
    assert user.email == "bob@example.com"
    assert user.check_password(STRONG)
    wallet = Wallet.objects.get(user=user)
    assert (wallet.currency, wallet.balance.amount, wallet.available_balance.amount) == (
        "USD",
        0,
        0,
    )


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/register/"])
def test_register_works_with_and_without_the_trailing_slash(anon, path):
    response = anon.post(
        path, {"username": "bob", "password": STRONG, "email": "b@example.com"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("4815162342917", "entirely numeric"),
        ("bob-example-com", "too similar"),
    ],
)
def test_register_refuses_passwords_the_validators_refuse(anon, password, fragment):
    response = register(anon, password=password)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(fragment in message for message in error["fields"]["password"])
    assert not User.objects.filter(username="bob").exists()


def test_register_refuses_a_taken_username_whatever_its_case(anon):
    UserFactory(username="Bob")

    response = register(anon, username="bob")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"]["username"] == ["This username is taken."]
    assert User.objects.filter(username__iexact="bob").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"username": "bad name!"}, "username"),
        ({"username": ""}, "username"),
        ({"password": ""}, "password"),
    ],
)
def test_register_names_the_invalid_field(anon, overrides, field):
    response = register(anon, **overrides)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_register_ignores_a_stale_token_header(anon):
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert register(anon).status_code == 201


def test_token_is_issued_for_good_credentials_and_stays_the_same(anon):
    user = UserFactory(username="carol")

    first = anon.post("/api/auth/token", {"username": "carol", "password": STRONG}, format="json")
    second = anon.post("/api/auth/token/", {"username": "carol", "password": STRONG})

    assert first.status_code == 200
    assert first.json() == {"token": Token.objects.get(user=user).key}
    assert second.json() == first.json()


@pytest.mark.parametrize(
    "body", [{"username": "carol", "password": "wrong"}, {"username": "nobody", "password": STRONG}]
)
def test_token_refuses_bad_credentials(anon, body):
    UserFactory(username="carol")

    response = anon.post("/api/auth/token", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not Token.objects.exists()


def test_token_refuses_an_inactive_user(anon):
    UserFactory(username="carol", is_active=False)

    response = anon.post("/api/auth/token", {"username": "carol", "password": STRONG})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_token_names_missing_fields(anon):
    response = anon.post("/api/auth/token", {"username": "carol"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"password": ["This field is required."]}


def test_registered_user_can_sign_in_and_read_me(anon):
    register(anon)
    token = anon.post("/api/auth/token", {"username": "bob", "password": STRONG}).json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = anon.get("/api/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": User.objects.get(username="bob").pk,
        "username": "bob",
        "email": "bob@example.com",
        "wallet": {
            "currency": "USD",
            "balance": "0.00",
            "available_balance": "0.00",
            "escrow_balance": "0.00",
        },
    }


def test_me_shows_the_wallet_balances(alice, user):
    fund(user, "12.50")

    response = alice.get("/api/me/")

    assert response.json()["wallet"] == {
        "currency": "USD",
        "balance": "12.50",
        "available_balance": "12.50",
        "escrow_balance": "0.00",
    }


def test_me_for_a_user_without_a_wallet_yet_shows_zero_and_creates_nothing(alice, user):
    response = alice.get("/api/me")

    assert response.json()["wallet"]["balance"] == "0.00"
    assert not Wallet.objects.filter(user=user).exists()


def test_me_without_credentials_is_401_with_a_challenge(anon):
    response = anon.get("/api/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_me_with_a_bad_token_is_401_authentication_failed(anon):
    anon.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")

    response = anon.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_register_and_token_are_throttled_at_20_a_minute(anon):
    UserFactory(username="carol")
    for _ in range(20):
        response = anon.post("/api/auth/token", {"username": "carol", "password": "wrong"})
        assert response.status_code == 400

    response = anon.post("/api/auth/token", {"username": "carol", "password": STRONG})

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "Retry-After" in response


def test_register_throttle_counts_per_client_address(anon):
    for number in range(20):
        assert register(anon, username=f"user-{number}").status_code == 201
    assert register(anon, username="one-too-many").status_code == 429

    other = anon.__class__(REMOTE_ADDR="10.0.0.2")
    assert register(other, username="from-elsewhere").status_code == 201
