"""POST /api/auth/register, POST /api/auth/token, GET /api/me."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from knox.models import get_token_model

from escrow.models import Wallet
from tests.conftest import issue_token
from tests.factories import UserFactory

from .conftest import fund

pytestmark = pytest.mark.django_db
User = get_user_model()
AuthToken = get_token_model()
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


def test_token_is_issued_for_good_credentials_a_new_one_each_time(anon, settings):
    user = UserFactory(username="carol")

    first = anon.post("/api/auth/token", {"username": "carol", "password": STRONG}, format="json")
    second = anon.post("/api/auth/token/", {"username": "carol", "password": STRONG})

    assert first.status_code == second.status_code == 200
    assert list(first.json()) == ["token"]
    keys = [first.json()["token"], second.json()["token"]]
    assert keys[0] != keys[1]
    # Both work, and both expire API_TOKEN_TTL_DAYS (30) after they were issued.
    for key in keys:
        anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert anon.get("/api/me").json()["username"] == "carol"
    assert settings.API_TOKEN_TTL_DAYS == 30
    for token in AuthToken.objects.filter(user=user):
        assert abs(token.expiry - token.created - timedelta(days=30)) < timedelta(seconds=5)
    assert AuthToken.objects.filter(user=user).count() == 2


@pytest.mark.parametrize(
    "body", [{"username": "carol", "password": "wrong"}, {"username": "nobody", "password": STRONG}]
)
def test_token_refuses_bad_credentials(anon, body):
    UserFactory(username="carol")

    response = anon.post("/api/auth/token", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not AuthToken.objects.exists()


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


# --- tokens are stored hashed and expire ------------------------------------------------


def _token_table_values() -> list[str]:
    """Every value of every row of the token table, read with raw SQL as text."""
    table = connection.ops.quote_name(AuthToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return [str(value) for row in cursor.fetchall() for value in row]


def test_the_database_never_holds_a_token_in_plain_text(anon):
    UserFactory(username="carol")

    key = anon.post("/api/auth/token", {"username": "carol", "password": STRONG}).json()["token"]

    values = _token_table_values()
    assert values  # the row is there...
    assert len(key) >= 64
    assert not any(key in value for value in values)  # ...but the key is in no column
    # What is stored: the SHA-512 digest, and a 15-character prefix that finds the row
    # (the other 49 hex digits, 196 bits, are never stored).
    token = AuthToken.objects.get()
    assert len(token.digest) == 128 and token.digest != key
    assert token.token_key == key[:15]
    # The old table with plain-text keys is gone.
    assert "authtoken_token" not in connection.introspection.table_names()


def test_an_expired_token_is_refused_and_deleted(anon, user):
    key = issue_token(user)
    anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert anon.get("/api/me").status_code == 200

    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = anon.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert not AuthToken.objects.filter(user=user).exists()


def test_a_token_of_a_deactivated_user_is_refused(anon, user):
    anon.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert anon.get("/api/me").status_code == 401


def test_signing_in_keeps_at_most_ten_tokens_dropping_the_oldest(anon, user, settings):
    assert settings.API_TOKENS_PER_USER == 10
    keys = [issue_token(user) for _ in range(11)]

    assert AuthToken.objects.filter(user=user).count() == 10
    anon.credentials(HTTP_AUTHORIZATION=f"Token {keys[0]}")
    assert anon.get("/api/me").status_code == 401
    for key in (keys[1], keys[-1]):
        anon.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert anon.get("/api/me").status_code == 200


def test_signing_in_drops_the_expired_tokens(user):
    issue_token(user)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(days=1))

    issue_token(user)

    assert AuthToken.objects.filter(user=user).count() == 1
    assert AuthToken.objects.get().expiry > timezone.now()


def test_a_token_that_is_not_utf8_is_401_not_500(anon):
    anon.credentials(HTTP_AUTHORIZATION="Token caf\xe9")

    response = anon.get("/api/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_register_and_token_are_throttled_at_20_a_minute(anon):
    # Successful sign-ins: failed ones lock the account sooner (tests/security).
    UserFactory(username="carol", password=STRONG)
    for _ in range(20):
        response = anon.post("/api/auth/token", {"username": "carol", "password": STRONG})
        assert response.status_code == 200

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
