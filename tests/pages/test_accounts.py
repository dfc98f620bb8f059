"""Sign up, log in, log out, password change; strangers are sent to the login page."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from escrow.models import Wallet
from tests.factories import UserFactory

from .conftest import csrf_post, text

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_sign_up_creates_the_account_and_its_wallet_and_signs_in():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    response = csrf_post(
        client,
        "/accounts/signup/",
        {
            "username": "newbuyer",
            "email": "newbuyer@example.com",
            "password1": "a-long-enough-secret-42",
            "password2": "a-long-enough-secret-42",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/groups/"
    user = User.objects.get(username="newbuyer")
    assert Wallet.objects.get(user=user).available_balance.amount == 0
    assert "Signed in as newbuyer" in text(client.get("/groups/"))


def test_sign_up_refusals_are_shown_on_the_form():
    UserFactory(username="taken")
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "username": "TAKEN",
            "email": "x@example.com",
            "password1": "a-long-enough-secret-42",
            "password2": "a-long-enough-secret-42",
        },
    )
    assert response.status_code == 200
    assert "This username is taken." in text(response)
    response = client.post(
        "/accounts/signup/",
        {"username": "fresh", "email": "x@example.com", "password1": "abc", "password2": "abd"},
    )
    assert "The two passwords differ." in text(response)
    assert not User.objects.filter(username="fresh").exists()


def test_log_in_and_log_out():
    UserFactory(username="alice")
    client = Client(enforce_csrf_checks=True)
    assert client.get("/accounts/login/").status_code == 200
    response = csrf_post(
        client, "/accounts/login/", {"username": "alice", "password": "wrong-password"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in text(response)
    response = csrf_post(
        client, "/accounts/login/", {"username": "alice", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/groups/"
    response = csrf_post(client, "/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/wallet/")["Location"] == "/accounts/login/?next=/wallet/"


def test_forms_refuse_a_post_without_the_csrf_token(as_user):
    client = as_user(UserFactory())
    assert client.post("/groups/mine/", {"name": "No token"}).status_code == 403


def test_change_password(as_user):
    user = UserFactory()
    client = as_user(user)
    assert client.get("/accounts/password/").status_code == 200
    response = csrf_post(
        client,
        "/accounts/password/",
        {
            "old_password": "correct-horse-battery",
            "new_password1": "another-long-secret-77",
            "new_password2": "another-long-secret-77",
        },
    )
    assert response["Location"] == "/accounts/password/done/"
    user.refresh_from_db()
    assert user.check_password("another-long-secret-77")


@pytest.mark.parametrize(
    "path",
    [
        "/groups/mine/",
        "/conversations/",
        "/wallet/",
        "/notifications/",
        "/legacy/projects/",
    ],
)
def test_strangers_are_sent_to_the_login_page(path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_the_home_page_links_to_sign_up_and_log_in():
    body = Client().get("/").content.decode()
    assert 'href="/accounts/signup/"' in body
    assert 'href="/accounts/login/"' in body
