"""Browser tests: Playwright driving Debian's Chromium against the real ASGI app (uvicorn
in a subprocess, `tests.live`) on the test database and Redis.

Chromium must be installed (`apt-get install -y chromium`): without it the tests fail,
they are never skipped. Screenshots of each step go to `artifacts/screenshots/`.
"""

import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from waffle.models import Flag

from marketplace.core.rollout import NEW_WORKFLOW
from tests.live import asgi_servers

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TIMEOUT_MS = 10_000
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 812}}


# Module scope: Playwright's event loop must be gone before other tests run, since it
# makes `async_to_sync` refuse to work in this thread.
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `apt-get install -y chromium` "
            "(the browser tests never skip)."
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # (factories, balance checks) are plain synchronous code all the same.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(params=list(VIEWPORTS))
def width(request) -> str:
    """A test that asks for it runs at a desktop's and at a phone's width."""
    return request.param


def off_the_loop(call, *args, **kwargs):
    """Run `call` in a worker thread and return its result. Services publish realtime
    frames after commit through `async_to_sync`, which refuses to run in a thread that has
    an event loop, and Playwright's sync API keeps one in the test's thread."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return call(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)


@pytest.fixture
def live(transactional_db, settings):
    """The base URL of a real server (DEBUG on, so static files are served and the
    session cookie works over plain http) with the new workflow on for everyone."""
    # Users made by the test must log in on the server, which knows the usual hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    Flag.objects.update_or_create(name=NEW_WORKFLOW, defaults={"everyone": True})
    with asgi_servers(1, DEBUG="1", ALLOWED_HOSTS="127.0.0.1") as (url,):
        yield url


class Person:
    """One browser context (its own cookies) signed in as one user."""

    def __init__(self, browser, base: str, name: str, test: str, viewport=None):
        self.base, self.name, self.test = base, name, test
        self.context = browser.new_context(
            base_url=base, viewport=viewport or {"width": 1280, "height": 900}
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.console_errors = []
        self.page.on(
            "console",
            lambda message: (
                self.console_errors.append(message.text) if message.type == "error" else None
            ),
        )

    def goto(self, path: str):
        self.page.goto(path)
        return self.page

    def log_in(self, username: str, password: str = "correct-horse-battery"):
        page = self.goto("/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/groups/$"))

    def sign_up(self, username: str, password: str = "a-long-enough-secret-42"):
        page = self.goto("/accounts/signup/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Email").fill(f"{username}@example.com")
        page.get_by_label("Password", exact=True).fill(password)
        page.get_by_label("Password again").fill(password)
        page.get_by_role("button", name="Sign up").click()
        page.wait_for_url(re.compile(r"/groups/$"))

    def shot(self, step: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=SCREENSHOTS / f"{self.test}-{step}-{self.name}.png", full_page=True
        )

    def axe(self) -> list[dict]:
        """Serious and critical axe-core violations of the current page."""
        # Evaluated, not added as an inline <script>: the pages' CSP refuses inline scripts.
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        return [
            {
                "page": self.page.url,
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "nodes": [node["target"] for node in violation["nodes"]][:5],
            }
            for violation in result
            if violation["impact"] in ("serious", "critical")
        ]

    def close(self):
        self.context.close()


def describe(violations) -> str:
    return json.dumps(violations, indent=2)


@pytest.fixture
def people(browser, live, request):
    """`people(name, viewport=None)`: a signed-out person with their own browser context."""
    made = []
    test = request.node.name.removeprefix("test_")

    def make(name: str, viewport=None) -> Person:
        person = Person(browser, live, name, test, viewport)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()
