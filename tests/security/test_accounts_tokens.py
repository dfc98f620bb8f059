"""API tokens: a new one per sign-in, `DELETE /api/auth/token` signs the presenting one
out, and a password change ends every token of the user and their other sessions."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete
from django.test import Client
from knox.models import get_token_model
from rest_framework.test import APIClient

from tests.conftest import issue_token
from tests.factories import UserFactory, staff_user

pytestmark = pytest.mark.django_db
User = get_user_model()
AuthToken = get_token_model()
STRONG = "correct-horse-battery"
NEW = "another-long-secret-77"


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def me(key: str) -> int:
    return with_token(key).get("/api/me").status_code


@pytest.fixture
def deleted_tokens():
    """The tokens whose rows are deleted (post_delete), as (user id, token key prefix)."""
    seen = []

    def record(sender, instance, **kwargs):
        seen.append((instance.user_id, instance.token_key))

    post_delete.connect(record, sender=AuthToken, dispatch_uid="test-deleted-tokens")
    yield seen
    post_delete.disconnect(sender=AuthToken, dispatch_uid="test-deleted-tokens")


def test_each_sign_in_answers_a_new_key_and_both_work():
    UserFactory(username="alice", password=STRONG)
    body = {"username": "alice", "password": STRONG}
    first = APIClient().post("/api/auth/token", body, format="json").json()["token"]
    second = APIClient().post("/api/auth/token", body, format="json").json()["token"]

    assert first != second
    assert me(first) == 200 and me(second) == 200


def test_delete_revokes_only_the_presenting_token(deleted_tokens):
    user = UserFactory()
    signing_out, other = issue_token(user), issue_token(user)

    response = with_token(signing_out).delete("/api/auth/token")

    assert response.status_code == 204
    assert response.content == b""
    assert me(signing_out) == 401
    assert me(other) == 200
    assert AuthToken.objects.filter(user=user).count() == 1
    assert deleted_tokens == [(user.pk, signing_out[:15])]


@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/token/"])
def test_delete_without_a_token_is_401(path):
    response = APIClient().delete(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_browser_session_is_not_a_token_to_revoke():
    user = UserFactory()
    key = issue_token(user)
    client = APIClient()
    client.force_login(user)

    assert client.delete("/api/auth/token").status_code == 401
    assert me(key) == 200


def test_a_revoked_token_cannot_be_revoked_twice():
    key = issue_token(UserFactory())
    assert with_token(key).delete("/api/auth/token").status_code == 204

    response = with_token(key).delete("/api/auth/token")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def change_password_on_the_page(client: Client):
    return client.post(
        "/accounts/password/",
        {"old_password": STRONG, "new_password1": NEW, "new_password2": NEW},
    )


def test_a_password_change_ends_every_token_and_the_other_sessions(deleted_tokens):
    user = UserFactory(username="grace", password=STRONG)
    keys = [issue_token(user), issue_token(user)]
    bystander_key = issue_token(UserFactory())
    this_browser, other_browser = Client(), Client()
    for browser in (this_browser, other_browser):
        signed_in = browser.post("/accounts/login/", {"username": "grace", "password": STRONG})
        assert signed_in.status_code == 302

    response = change_password_on_the_page(this_browser)

    assert response.status_code == 302
    assert [me(key) for key in keys] == [401, 401]
    assert sorted(deleted_tokens) == sorted((user.pk, key[:15]) for key in keys)
    assert me(bystander_key) == 200
    # The browser that changed it stays signed in; the other one is signed out.
    assert this_browser.get("/groups/mine/").status_code == 200
    assert other_browser.get("/groups/mine/")["Location"].startswith("/accounts/login/")
    # The new password signs in for a new token.
    body = {"username": "grace", "password": NEW}
    assert APIClient().post("/api/auth/token", body, format="json").status_code == 200


def test_a_password_set_in_the_admin_ends_the_users_tokens():
    user = UserFactory(password=STRONG)
    key = issue_token(user)
    admin = Client()
    admin.force_login(staff_user("root", is_superuser=True))

    response = admin.post(
        f"/admin/marketplace/user/{user.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert me(key) == 401


def test_saving_the_user_without_a_new_password_keeps_the_tokens():
    user = UserFactory(password=STRONG)
    key = issue_token(user)

    user.first_name = "Grace"
    user.save()
    user.set_password(STRONG)  # the same password under a fresh salt, as a hasher upgrade
    user.save()

    assert me(key) == 200


def test_the_schema_documents_signing_out():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/auth/token"]["delete"]

    assert operation["operationId"] == "auth_token_revoke"
    assert set(operation["responses"]) == {"204", "401"}
    assert operation["security"] == [{"tokenAuth": []}]
