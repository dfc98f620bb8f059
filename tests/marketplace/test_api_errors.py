"""Requests Django refuses before any view runs still get the API's JSON error body."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_too_many_form_fields_is_a_json_400_under_the_api(client_for, settings):
    data = {f"field{number}": "x" for number in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = client_for(UserFactory()).post("/api/notifications/read", data)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "bad_request", "message": "The request could not be read."}
    }


def test_outside_the_api_the_400_page_stays_html(client):
    data = {f"field{number}": "x" for number in range(1001)}
    response = client.post("/accounts/login/", data)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
