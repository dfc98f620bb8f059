"""A page's form refused by the CSRF check (issue 14, finding 9): the site's own 403 page
says the form expired and how to retry, and nothing is done; the API keeps its JSON."""

import pytest
from django.test import Client

from marketplace.core.models import Group
from tests.factories import UserFactory

from .conftest import csrf_post, text

pytestmark = pytest.mark.django_db

EXPIRED = "This form has expired"
RETRY = "Go back, reload the page and try again."


def test_a_form_without_its_token_gets_the_sites_page_and_changes_nothing(as_user):
    client = as_user(UserFactory())

    response = client.post("/groups/mine/", {"name": "Night Owls", "description": "x"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'href="/static/css/site.css"' in html  # the site's look
    assert '<nav aria-label="Main">' in html
    assert '<p class="error-code">403</p>' in html
    assert EXPIRED in text(response) and RETRY in text(response)
    assert '<a class="btn" href="/">Go to the home page</a>' in html
    assert not Group.objects.filter(name="Night Owls").exists()


def test_retrying_from_a_reloaded_page_works():
    UserFactory(username="rosa")
    client = Client(enforce_csrf_checks=True)
    # The login form opened in another tab before the cookies were cleared.
    refused = client.post("/accounts/login/", {"username": "rosa", "password": "x"})
    assert refused.status_code == 403
    assert EXPIRED in text(refused)
    assert "_auth_user_id" not in client.session

    signed_in = csrf_post(
        client, "/accounts/login/", {"username": "rosa", "password": "correct-horse-battery"}
    )

    assert signed_in.status_code == 302
    assert "_auth_user_id" in client.session


def test_other_refusals_keep_the_not_allowed_page():
    staff_without_finance = Client()
    staff_without_finance.force_login(UserFactory(is_staff=True))
    page = staff_without_finance.get("/admin/escrow/wallet/1/adjust/")
    assert page.status_code == 403
    assert "You are not allowed to do that" in text(page)
    assert EXPIRED not in text(page)


def test_the_api_keeps_its_json_when_the_csrf_check_fails():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())

    response = client.post("/api/groups", {"name": "Night Owls"}, content_type="application/json")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    assert "CSRF" in error["message"]
    assert not Group.objects.filter(name="Night Owls").exists()
