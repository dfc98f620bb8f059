"""Before/after screenshots of issue 14's findings 1-5 and 10 (a tool, not a test).

Run it against a server holding `seed_demo`'s data, once for each tree:

    python -m tests.browser.before_after --base-url http://127.0.0.1:8710 --label before

Each finding is shot full-page at 1280x800 and 375x812 into
artifacts/screenshots/before-after/<label>/<finding>-<width>.png (under this checkout,
whichever tree the server runs). The script goes by URLs, form field names and the demo's
own names, never by link texts, so it runs on the trees before and after the fixes; an
element a tree lacks is reported and the page is shot all the same.

Findings 4 and 5 need a conversation without an open proposal, which the demo has none
of: each run signs up a new buyer, funds them in the sandbox and opens a conversation
with Pixel Crafters, where the leader first sends a bad price, then a long title.
"""

import argparse
import re
import time
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox"]
OUT = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots" / "before-after"
VIEWPORTS = ({"width": 1280, "height": 800}, {"width": 375, "height": 812})
TIMEOUT_MS = 10_000
OPTIONAL_MS = 3_000  # how long to look for an element one of the trees may not have

# The demo's logins and names (marketplace/management/commands/seed_demo.py).
DEMO_PASSWORD = "demo-pass-123"
PIXEL, DATA = "Pixel Crafters", "Data Wranglers"

BAD_PRICE = "1e30"
LONG_TITLE = "Supercalifragilistic" * 5  # 100 characters, no space to break at
LONG_DESCRIPTION = "\n\n".join(
    f"Part {n}: pages, copy and photos for the shop, reviewed with the owners each week."
    for n in range(1, 13)
)


class Visitor:
    """One browser context (its own cookies), signed in or anonymous."""

    def __init__(self, browser, base_url: str, out: Path):
        self.out = out
        self.context = browser.new_context(base_url=base_url, viewport=VIEWPORTS[0])
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()

    def goto(self, path: str, viewport: dict):
        self.page.set_viewport_size(viewport)
        self.page.goto(path)
        return self.page

    def submit(self, button):
        """Click a plain form's submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            button.click()

    def log_in(self, username: str, password: str = DEMO_PASSWORD):
        page = self.goto("/accounts/login/", VIEWPORTS[0])
        form = page.locator("form[action$='/accounts/login/']")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        self.submit(form.locator("[type=submit]"))
        return self

    def sign_up(self, username: str, password: str):
        page = self.goto("/accounts/signup/", VIEWPORTS[0])
        form = page.locator("form[action$='/accounts/signup/']")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=email]").fill(f"{username}@example.com")
        form.locator("input[name=password1]").fill(password)
        form.locator("input[name=password2]").fill(password)
        self.submit(form.locator("[type=submit]"))
        return self

    def href(self, list_path: str, pattern: str, text: str) -> str:
        """The first link on `list_path` whose URL matches `pattern` and whose text holds
        `text` (a name from the demo data)."""
        page = self.goto(list_path, VIEWPORTS[0])
        for link in page.locator("a[href]").all():
            url = link.get_attribute("href") or ""
            if re.fullmatch(pattern, url) and text in link.inner_text():
                return url
        raise SystemExit(f"No link to {pattern} about {text!r} on {list_path} ({page.url}).")

    def conversation(self, text: str) -> str:
        return self.href("/conversations/", r"/conversations/\d+/", text)

    def shot(self, finding: str, viewport: dict):
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{finding}-{viewport['width']}.png"
        self.page.wait_for_load_state("networkidle")  # htmx fragments and the live socket
        self.page.screenshot(path=path, full_page=True)
        print(path)

    def close(self):
        self.context.close()


def optional(what: str, action) -> None:
    """Do `action` if the tree has what it needs; otherwise say so and go on."""
    try:
        action()
    except PlaywrightError as error:
        print(f"  (not on this tree: {what}: {str(error).splitlines()[0]})")


def finding1_wallet(alice: Visitor):
    """Alice's history, with the Logo refresh release unfolded where the tree folds it."""
    for viewport in VIEWPORTS:
        page = alice.goto("/wallet/", viewport)
        optional(
            "a release that unfolds into its legs",
            lambda page=page: page.locator("details.legs summary").first.click(timeout=OPTIONAL_MS),
        )
        alice.shot("1", viewport)


def finding2_settled_card(omar: Visitor):
    """The settled split dispute (CRM data migration) as its leader sees it."""
    url = omar.conversation(f"bob · {DATA}")
    for viewport in VIEWPORTS:
        omar.goto(url, viewport)
        omar.shot("2", viewport)


def finding3_pending_card(bob: Visitor):
    """Bob's pending proposal from Pixel Crafters, with the accept confirmation opened
    where the tree has one."""
    url = bob.conversation(PIXEL)
    for viewport in VIEWPORTS:
        page = bob.goto(url, viewport)
        card = page.locator("[data-status=pending]").first
        optional(
            "the accept confirmation step",
            lambda card=card: card.locator("[data-confirm=accept] summary").click(
                timeout=OPTIONAL_MS
            ),
        )
        bob.shot("3", viewport)


def send_proposal(
    leader: Visitor, url: str, viewport: dict, *, title: str, price: str, description=""
):
    page = leader.goto(url, viewport)
    form = page.locator("#new-proposal form")
    form.locator("input[name=title]").fill(title)
    form.locator("textarea[name=description]").fill(description)
    form.locator("input[name=price]").fill(price)
    leader.submit(form.locator("[type=submit]"))


def finding4_bad_price(lena: Visitor, url: str):
    for viewport in VIEWPORTS:
        send_proposal(lena, url, viewport, title="Landing page", price=BAD_PRICE)
        lena.shot("4", viewport)


def finding5_long_title(lena: Visitor, buyer: Visitor, url: str):
    send_proposal(
        lena, url, VIEWPORTS[0], title=LONG_TITLE, price="1200.00", description=LONG_DESCRIPTION
    )
    for viewport in VIEWPORTS:
        buyer.goto(url, viewport)
        buyer.shot("5", viewport)


def finding10_home(anonymous: Visitor):
    for viewport in VIEWPORTS:
        anonymous.goto("/", viewport)
        anonymous.shot("10", viewport)


def new_buyer_conversation(buyer: Visitor, label: str) -> str:
    """Sign a new buyer up, fund them and open a conversation with Pixel Crafters; its URL."""
    buyer.sign_up(f"shots-{label}-{int(time.time())}", "a-long-enough-secret-42")
    page = buyer.goto("/wallet/", VIEWPORTS[0])
    deposit = page.locator("form[action$='/wallet/deposit/']")
    deposit.locator("input[name$=amount]").fill("2000.00")
    buyer.submit(deposit.locator("[type=submit]"))
    page = buyer.goto(buyer.href("/groups/", r"/groups/\d+/", PIXEL), VIEWPORTS[0])
    buyer.submit(page.locator("form[action$='/conversation/'] [type=submit]"))
    return re.sub(r"^https?://[^/]+|#.*$", "", page.url)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8710")
    parser.add_argument("--label", required=True, choices=["before", "after"])
    args = parser.parse_args()
    out = OUT / args.label
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        visitors = []

        def visitor(username=None):
            person = Visitor(browser, args.base_url, out)
            visitors.append(person)
            return person.log_in(username) if username else person

        finding1_wallet(visitor("alice"))
        finding2_settled_card(visitor("omar"))
        finding3_pending_card(visitor("bob"))
        buyer, lena = visitor(), visitor("lena")
        url = new_buyer_conversation(buyer, args.label)
        finding4_bad_price(lena, url)
        finding5_long_title(lena, buyer, url)
        finding10_home(visitor())
        for person in visitors:
            person.close()
        browser.close()


if __name__ == "__main__":
    main()
