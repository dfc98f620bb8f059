"""Static files with DEBUG off (issue 14, Lighthouse): WhiteNoise serves collectstatic's
hashed copies compressed (brotli and gzip) and cached for a year."""

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

A_YEAR = 365 * 24 * 3600


MANIFEST_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """`collectstatic` once for the module (compressing every file takes a while)."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(
        STORAGES={**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}, STATIC_ROOT=root
    ):
        call_command("collectstatic", "--noinput", verbosity=0)
    return root


@pytest.fixture
def collected(settings, static_root):
    """A client of the site with the production storage (settings.py with DEBUG off)."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": MANIFEST_STORAGE}
    settings.STATIC_ROOT = static_root
    # A new client builds a new middleware chain: WhiteNoise indexes the new STATIC_ROOT.
    return Client()


def _hashed_url(client, name: str) -> str:
    html = client.get("/").content.decode()
    match = re.search(rf'"(/static/{name}\.[0-9a-f]{{12}}\.(?:css|js))"', html)
    assert match, f"no hashed URL for {name} in the page"
    return match.group(1)


@pytest.mark.parametrize(
    ("accept", "encoding"), [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)]
)
def test_static_files_are_served_compressed(collected, accept, encoding):
    url = _hashed_url(collected, "vendor/htmx.min")
    plain = collected.get(url, HTTP_ACCEPT_ENCODING="identity")
    response = collected.get(url, HTTP_ACCEPT_ENCODING=accept)

    assert response.status_code == 200
    assert response.get("Content-Encoding") == encoding
    body = b"".join(response.streaming_content)
    plain_body = b"".join(plain.streaming_content)
    if encoding:
        assert len(body) < len(plain_body) / 2
    assert "Accept-Encoding" in response["Vary"]


def test_hashed_static_files_are_cached_for_a_year(collected):
    url = _hashed_url(collected, "css/site")
    response = collected.get(url)
    max_age = re.search(r"max-age=(\d+)", response["Cache-Control"])
    assert max_age and int(max_age.group(1)) >= A_YEAR
    assert "immutable" in response["Cache-Control"]
