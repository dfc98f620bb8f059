"""A Content-Security-Policy on every page, and pages that need no exception from it: no
inline script, event handler, `style` attribute or `javascript:` URL; the only inline
tags are the admin's and the API docs' few, which carry the response's nonce.
The story of tests/browser runs the pages in Chromium under this policy, console errors
failing; the admin and the API docs are run here the same way."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from marketplace.core.models import Notification
from proposals.models import Proposal
from tests.browser import conftest as browser_fixtures
from tests.factories import GroupFactory, UserFactory, staff_user
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db

# Chromium and the live server of tests/browser, for the last test.
browser = browser_fixtures.browser
live = browser_fixtures.live
people = browser_fixtures.people

POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy_of(response) -> tuple[dict, str | None]:
    """The directives (nonces shown as 'nonce-*') and the nonce."""
    header = response["Content-Security-Policy"]
    nonces = set(re.findall(r"'nonce-([^']+)'", header))
    assert len(nonces) <= 1, header
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = [re.sub(r"'nonce-[^']+'", "'nonce-*'", value) for value in values]
    return directives, next(iter(nonces), None)


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles without the
    nonce, event handler attributes, style attributes and javascript: URLs."""

    def __init__(self, nonce: str | None):
        super().__init__()
        self.nonce, self.blocked, self._open = nonce, [], None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"<{tag} {name}=...>")
            if name == "style":
                self.blocked.append(f"<{tag} style=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.blocked.append(f"<{tag} {name}=javascript:...>")
        inline_script = tag == "script" and "src" not in attributes
        if inline_script and attributes.get("type") == "application/json":
            inline_script = False  # data, never run
        carries_nonce = self.nonce is not None and attributes.get("nonce") == self.nonce
        if (inline_script or tag == "style") and not carries_nonce:
            self._open = tag

    def handle_data(self, data):
        if self._open and data.strip():
            self.blocked.append(f"<{self._open}> {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None


def test_the_checker_finds_what_the_policy_would_block():
    page = (
        '<script>alert(1)</script><style>p{}</style><p style="x" onclick="y">'
        '<a href="javascript:z()">a</a><script nonce="n1">ok()</script>'
        '<script type="application/json">{"data": 1}</script><script src="/s.js"></script>'
    )
    parser = InlineCode("n1")
    parser.feed(page)

    assert parser.blocked == [
        "<script> alert(1)",
        "<style> p{}",
        "<p style=...>",
        "<p onclick=...>",
        "<a href=javascript:...>",
    ]


def assert_strict(response, *, nonce_allowed: bool = False) -> None:
    """The policy, and nothing inline it would block. Our own pages use no nonce at all
    (Django then leaves it out of the header); the admin and the API docs may."""
    assert response.status_code in (200, 404, 429), (response.status_code, response)
    directives, nonce = policy_of(response)
    if nonce_allowed:
        for name in ("script-src", "style-src"):
            directives[name] = [value for value in directives[name] if value != "'nonce-*'"]
    assert directives == POLICY
    parser = InlineCode(nonce)
    parser.feed(response.content.decode())
    assert parser.blocked == [], parser.blocked


@pytest.fixture
def scene():
    """A team with a proposal in progress, a task, a dispute-ready deal and a
    notification: enough for every page to render its full content."""
    team = make_team()
    proposal = bring_to(team, Proposal.Status.IN_PROGRESS)
    Notification.objects.create(user=team.buyer, kind="proposal_accepted", title="Accepted")
    return team, proposal


def test_every_page_of_a_signed_in_user_is_strict(scene):
    team, proposal = scene
    client = Client()
    client.force_login(team.leader)
    paths = [
        "/",
        "/groups/",
        f"/groups/{team.group.pk}/",
        "/groups/mine/",
        f"/groups/{team.group.pk}/manage/",
        "/conversations/",
        f"/conversations/{team.conversation.pk}/",
        f"/proposals/{proposal.pk}/tasks/",
        "/wallet/",
        f"/groups/{team.group.pk}/wallet/",
        "/notifications/",
        "/disputes/",
        "/legacy/projects/",
        "/accounts/password/",
        "/no-such-page/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code != 302, path
        assert_strict(response)


def test_the_buyers_chat_with_its_proposal_card_is_strict(scene):
    team, proposal = scene
    client = Client()
    client.force_login(team.buyer)

    assert_strict(client.get(f"/conversations/{team.conversation.pk}/"))
    assert_strict(client.get(f"/proposals/{proposal.pk}/dispute/"))


@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/"])
def test_the_public_pages_are_strict(path):
    assert_strict(Client().get(path))


def test_the_too_many_attempts_page_is_strict():
    client = Client()
    for _ in range(20):
        client.post("/accounts/signup/", {"username": "x"})

    response = client.post("/accounts/signup/", {"username": "x"})

    assert response.status_code == 429
    assert_strict(response)


def test_the_admin_is_strict_with_its_inline_style_under_the_nonce():
    GroupFactory()
    client = Client()
    client.force_login(staff_user("root", is_superuser=True))
    for path in [
        "/admin/",
        "/admin/marketplace/user/",
        "/admin/marketplace/group/",
        "/admin/marketplace/user/add/",
        "/admin/metrics/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response, nonce_allowed=True)


def test_the_api_docs_load_their_script_from_a_url():
    user = UserFactory()
    client = Client()
    client.force_login(user)

    page = client.get("/api/docs/")

    assert_strict(page, nonce_allowed=True)
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', page.content.decode()).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_api_responses_carry_the_policy_too():
    response = Client().get("/api/me")

    assert response.status_code == 401
    assert policy_of(response)[0] == POLICY


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_and_the_api_docs_work_in_chromium_under_the_policy(people):
    staff_user("root", is_superuser=True)
    person = people("root")
    errors = []  # the console's errors, but the browser's own /favicon.ico (the admin has none)
    person.page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.location["url"].endswith("/favicon.ico")
            else None
        ),
    )
    page = person.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    for path in ["/admin/marketplace/user/", "/admin/marketplace/user/add/", "/admin/metrics/"]:
        assert person.goto(path).locator("#content").count() == 1, path
    # The user list's select-all box is the admin's own script at work.
    page = person.goto("/admin/marketplace/user/")
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select:checked").count() >= 1

    page = person.goto("/api/docs/")
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 20

    assert errors == [], errors
