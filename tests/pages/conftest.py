"""Page tests: Django's test client, signed in as each role, on PostgreSQL and Redis."""

import re
from html import unescape

import pytest
from django.test import Client
from waffle.models import Flag

from marketplace.core.rollout import NEW_WORKFLOW
from tests.proposals.factories import make_team


@pytest.fixture
def as_user():
    """`as_user(user)`: a browser-like client signed in as `user` (CSRF checks on)."""

    def make(user):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    return make


def csrf_post(client, path, data=None, **extra):
    """POST the way a browser does: the CSRF token from the cookie in the form."""
    if "csrftoken" not in client.cookies:
        client.get("/groups/")  # any page sets the cookie
    token = client.cookies["csrftoken"].value
    return client.post(path, {**(data or {}), "csrfmiddlewaretoken": token}, **extra)


_FLASH = re.compile(r'<p class="flash flash-\w+" role="(?:alert|status)">(.*?)</p>', re.S)


def flashes(response) -> list[str]:
    """The flash messages a person sees: on the page the redirect leads to (followed with
    the same client), or on the page itself."""
    if response.status_code in (301, 302, 303):
        response = response.client.get(response["Location"])
    return [
        unescape(re.sub(r"\s+", " ", match)).strip()
        for match in _FLASH.findall(response.content.decode())
    ]


def text(response) -> str:
    """The page's visible text, tags stripped and spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    words = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
    return re.sub(r" ([.,:;)])", r"\1", words)


@pytest.fixture
def team(db):
    """A buyer with 1500.00 available and a group: leader, m1, m2 (in order of joining)."""
    return make_team(members=2, deposit="1500.00")


@pytest.fixture
def workflow_off(db):
    """The new workflow off for everyone (named users could still get it)."""
    flag = Flag.objects.get(name=NEW_WORKFLOW)
    flag.everyone = False
    flag.save()
    return flag
