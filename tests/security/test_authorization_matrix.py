"""The authorization matrix: every API operation, page, admin money action and websocket
route, asked by every role, against the answer CONTRACT.md gives (`matrix_table`).

Each cell is its own test. A refused cell (401, 403, 404, a login redirect, a refusal
message, a refused socket) must also leave the ledger as it was. The table must cover
every route of the URL conf, every operation of the OpenAPI schema, every custom admin
view and action of the money apps, and every websocket route: a new endpoint without a
row fails here.

The world (`matrix_world`) is built once for the module inside a transaction that is
rolled back at the end; each cell runs in a savepoint of it (pytest-django's `db`), so a
cell that moves money or deletes a group leaves nothing for the next.
"""

from collections import defaultdict

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib import admin as django_admin
from django.contrib.messages import ERROR
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from escrow.models import EscrowTransaction
from marketplace.asgi import application
from marketplace.core.routing import websocket_urlpatterns
from proposals import flashes as proposal_flashes

from .matrix_table import ADMIN, API, PAGES, QUERIES, SOCKETS, cells
from .matrix_world import world_rolled_back

REFUSED = {401, 403, 404, "login", "admin_login", "refused", 4401, 4404}
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
DEFAULT_ADMIN_VIEWS = {"changelist", "add", "history", "delete", "change"}
MONEY_APPS = {"escrow", "proposals", "disputes"}
# Any id resolves a route: coverage needs no world.
PLACEHOLDER_IDS = defaultdict(lambda: 1)


# --- the table covers everything ---------------------------------------------------------


def _join(prefix: str, route: str) -> str:
    # As Django joins the routes of nested patterns into `ResolverMatch.route`.
    return prefix + route.removeprefix("^") if prefix else route


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _route_of(row) -> str:
    return resolve(row.url(PLACEHOLDER_IDS)).route


def test_every_api_operation_has_a_row():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    rows = {row.name for row in API}
    assert sorted(operations - rows) == [], "add a row to matrix_table.API"
    assert sorted(rows - operations) == ["GET /api/docs/", "GET /api/schema/"]


def test_every_route_has_a_row():
    admin_prefix = "admin/"
    routes = {route for route in _routes(get_resolver().url_patterns) if route != admin_prefix} - {
        _join(admin_prefix, route) for route in _routes(django_admin.site.urls[0])
    }
    covered = {_route_of(row) for row in (*API, *PAGES, *ADMIN)}
    assert sorted(routes - covered) == [], "add a row to matrix_table.API or PAGES"


def test_every_admin_money_view_and_action_has_a_row():
    money_admins = [
        model_admin
        for model, model_admin in django_admin.site._registry.items()
        if model._meta.app_label in MONEY_APPS
    ]
    custom_views = {
        pattern.name
        for model_admin in money_admins
        for pattern in model_admin.get_urls()
        if pattern.name and pattern.name.rsplit("_", 1)[-1] not in DEFAULT_ADMIN_VIEWS
    }
    covered_views = {resolve(row.url(PLACEHOLDER_IDS)).url_name for row in ADMIN}
    assert sorted(custom_views - covered_views) == []

    actions = {
        name
        for model_admin in money_admins
        for name in (model_admin.actions or ())
        if name != "delete_selected"
    }
    assert sorted(actions - {row.label for row in ADMIN}) == []


def _socket_route(path: str) -> int:
    """The index of the first websocket route that takes `path`, as the router picks it."""
    path = path.removeprefix("/")
    return next(
        index for index, pattern in enumerate(websocket_urlpatterns) if pattern.pattern.match(path)
    )


def test_every_websocket_route_has_a_row():
    covered = {_socket_route(row.url(PLACEHOLDER_IDS).removeprefix("WS ")) for row in SOCKETS}
    assert covered == set(range(len(websocket_urlpatterns)))


# --- outcomes --------------------------------------------------------------------------


def ledger_size() -> int:
    return EscrowTransaction.objects.count()


def page_outcome(response):
    """The page outcome of a response, in the table's words."""
    storage = response.wsgi_request._messages
    # A page that rendered its messages moved them from the queue to the loaded ones.
    shown = [*storage._loaded_messages, *storage._queued_messages]
    if any(message.level >= ERROR for message in shown):
        return "refused"
    # Proposal actions put their message at the card or the form they came from.
    at_the_card = response.wsgi_request.session.get(proposal_flashes.KEY) or {}
    if at_the_card.get("alert"):
        return "refused"
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return "admin_login"
        if location.startswith(reverse("login")):
            return "login"
        return "ok"
    return response.status_code


def _describe(response) -> str:
    body = response.content[:300].decode(errors="replace")
    return f"{response.status_code} {response.get('Location', '')} {body}"


# --- HTTP: one world for the module, a savepoint per cell -------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with world_rolled_back(django_db_blocker) as world:
        yield world


# One client of each kind for the module: a new one loads the middleware again, and
# WhiteNoise's reads every static file when it does. Each cell starts it afresh.


@pytest.fixture(scope="module")
def api_client():
    return APIClient()


@pytest.fixture(scope="module")
def page_client():
    return Client()


@pytest.mark.parametrize(("row", "role"), cells(API))
def test_api(world, db, api_client, row, role):
    api_client.cookies.clear()
    api_client.credentials()
    if role != "anonymous":
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
    call = getattr(api_client, row.method.lower())
    url = row.url(world.ids)
    before = ledger_size()

    if row.method == "GET":
        response = call(url, QUERIES[row.name](world.ids) if row.name in QUERIES else None)
    else:
        response = call(url, row.data(world.ids), format="json")

    expected = row.expect[role]
    assert response.status_code == expected, _describe(response)
    if expected >= 400:
        error = response.json()
        assert set(error) == {"error"}, error  # the error body, never the object
        assert error["error"]["code"] and error["error"]["message"]
    if expected in REFUSED:
        assert ledger_size() == before


@pytest.mark.parametrize(("row", "role"), cells(PAGES) + cells(ADMIN))
def test_page(world, db, page_client, row, role):
    client = page_client
    client.cookies.clear()
    if role != "anonymous":
        client.force_login(world.users[role])
    url = row.url(world.ids)
    before = ledger_size()

    if row.method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, row.data(world.ids) or {})

    expected = row.expect[role]
    assert page_outcome(response) == expected, _describe(response)
    if expected in REFUSED:
        assert ledger_size() == before


@pytest.fixture
def sockets_share_the_test_connection(monkeypatch):
    """The consumer's database calls run on this thread (`async_to_sync` from a sync test),
    and so on the test's connection, inside its transaction; Channels would close that
    connection around each call, as a request's end does, which Django's test client also
    switches off."""
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)


def _socket_outcome(path: str, token: str | None):
    headers = [(b"authorization", f"Token {token}".encode())] if token else []

    async def scenario():
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=5)
        if connected:
            await communicator.disconnect()
            return "accept"
        return code

    channel_layers.backends = {}  # a fresh layer for this event loop
    try:
        return async_to_sync(scenario)()
    finally:
        channel_layers.backends = {}


@pytest.mark.parametrize(("row", "role"), cells(SOCKETS))
def test_socket(world, db, sockets_share_the_test_connection, row, role):
    before = ledger_size()

    outcome = _socket_outcome(row.url(world.ids).removeprefix("WS "), world.tokens.get(role))

    assert outcome == row.expect[role]
    assert ledger_size() == before
