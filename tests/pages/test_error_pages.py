"""Error pages (issue 14, finding 9): with DEBUG off, 403, 404 and 500 are the site's own
pages with a way back; the API keeps its JSON errors."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

import marketplace.urls as site_urls


def _forbidden(request):
    raise PermissionDenied


def _broken(request):
    raise RuntimeError("boom")


# The site's own URLconf and handlers, plus routes that fail on purpose.
urlpatterns = [
    path("forbidden/", _forbidden),
    path("broken/", _broken),
    path("api/forbidden/", _forbidden),
    path("api/broken/", _broken),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def _site_page(response, status: int, heading: str):
    html = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert 'href="/static/css/site.css"' in html  # the site's look
    assert f'<p class="error-code">{status}</p>' in html
    assert heading in html
    assert '<a class="btn" href="/">Go to the home page</a>' in html  # a way back


def test_an_unknown_page_is_the_sites_404(settings):
    assert settings.DEBUG is False
    _site_page(Client().get("/no/such/page/"), 404, "We could not find that page")


def test_a_refused_page_is_the_sites_403():
    response = Client().get("/forbidden/")
    _site_page(response, 403, "You are not allowed to do that")
    assert 'href="/accounts/login/?next=/forbidden/"' in response.content.decode()


def test_a_crash_is_the_sites_500():
    client = Client(raise_request_exception=False)
    _site_page(client.get("/broken/"), 500, "Something went wrong on our side")


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/no/such/endpoint", 404, "not_found"),
        ("/api/forbidden/", 403, "permission_denied"),
        ("/api/broken/", 500, "server_error"),
    ],
)
def test_the_api_keeps_its_json_errors(url, status, code):
    response = Client(raise_request_exception=False).get(url)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
