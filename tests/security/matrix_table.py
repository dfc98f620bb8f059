"""The expected answer of every endpoint to every role, written from CONTRACT.md (and, for
the pages, the admin and the sockets, from the README's roles and the contract's
visibility rule), not read off the code.

The contract's rules in short: no credentials → 401 (but register, token, schema, docs);
an object you may not see → 404, never its data (a stranger, a former member, staff);
an object you may see but an act that is not yours → 403. Groups are public (anonymous
visitors browse their pages; the API needs a sign-in), so a non-leader acting on one gets
403, not 404. The support role reads and resolves disputes; finance releases, refunds
and adjusts in the admin; `is_staff` alone opens nothing in the API or the pages.

Page outcomes: a status code, or "login" (redirected to the login page), "ok" (redirected
on, no error message), "refused" (the service refused: an error message is shown). Admin
outcomes: "admin_login" (sent to the admin's login), a status code, or "ok" as for pages.
Socket outcomes: "accept" or the close code.
"""

from dataclasses import dataclass, field

from .matrix_world import PASSWORD, ROLES

USERS = ROLES[1:]
PARTIES = ("buyer", "leader", "member")  # the deal's buyer and its group's current members
OUTSIDERS = ("stranger", "former", "staff", "finance", "support")
STAFF = ("staff", "finance", "support")
_SETS = {"users": USERS, "parties": PARTIES, "outsiders": OUTSIDERS}


def outcomes(anonymous, **spec) -> dict:
    """One outcome per role: `users`, `parties`, `outsiders` set many at once, then a role
    named alone overrides them."""
    table = {"anonymous": anonymous}
    for name, roles in _SETS.items():
        if name in spec:
            table.update(dict.fromkeys(roles, spec.pop(name)))
    table.update(spec)
    missing = set(ROLES) - table.keys()
    assert not missing and table.keys() == set(ROLES), (missing, spec)
    return table


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # with {placeholders}: world ids by name (see `fill`)
    expect: dict
    body: object = None  # a dict, or a function of the world's ids returning one
    ids: dict = field(default_factory=dict)  # placeholder -> world id name
    label: str = ""  # tells apart rows of one route

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}{f' ({self.label})' if self.label else ''}"

    def url(self, ids: dict) -> str:
        return self.path.format(**{key: ids[value] for key, value in self.ids.items()})

    def data(self, ids: dict):
        return self.body(ids) if callable(self.body) else self.body


def api(operation: str, anonymous=401, body=None, **spec) -> Row:
    """A row of the API, named as the OpenAPI schema names the operation. Path parameters
    are given as `param="world id name"`."""
    method, path = operation.split(" ", 1)
    params = {key: spec.pop(key) for key in list(spec) if key.endswith("_id")}
    return Row(method, path, outcomes(anonymous, **spec), body, params)


def page(route: str, anonymous="login", body=None, **spec) -> Row:
    method, path = route.split(" ", 1)
    params = {key: spec.pop(key) for key in list(spec) if key.startswith("obj")}
    return Row(method, path, outcomes(anonymous, **spec), body, params)


# --- the REST API ------------------------------------------------------------------------

# The deal each proposal action is asked on: the status the contract's "who" may act in.
PROPOSAL_ACTIONS = {
    "accept": ("pending", "buyer"),
    "reject": ("pending", "buyer"),
    "withdraw": ("pending", "leader"),
    "start": ("accepted", "leader"),
    "deliver": ("in_progress", "leader"),
    "request-changes": ("delivered", "buyer"),
    "confirm": ("delivered", "buyer"),
    "cancel": ("accepted", "leader"),
    "extend-auto-release": ("delivered", "buyer"),
}
ACTION_BODIES = {"request-changes": {"note": "More pages."}, "extend-auto-release": {"days": 1}}


def _action_rows():
    for action, (deal, actor) in PROPOSAL_ACTIONS.items():
        others = {role: 403 for role in PARTIES if role != actor}
        yield api(
            f"POST /api/proposals/{{proposal_id}}/{action}",
            proposal_id=deal,
            body=ACTION_BODIES.get(action),
            outsiders=404,
            **{actor: 200},
            **others,
        )


def _proposal_create(ids):
    return {"conversation_id": ids["idle_conversation"], "title": "Shop", "price": "250.00"}


def _task_create(ids):
    return {"proposal_id": ids["in_progress"], "title": "Copy"}


def _dispute_open(ids):
    return {"proposal_id": ids["in_progress"], "reason": "Late."}


API = [
    api(
        "POST /api/auth/register",
        anonymous=201,
        users=201,
        body={"username": "m_newbie", "password": "a-long-pass-phrase-9", "email": "n@e.org"},
    ),
    api(
        "POST /api/auth/token",
        anonymous=200,
        users=200,
        body={"username": "m_buyer", "password": PASSWORD},
    ),
    # Signs out the token it is sent with (a session has none to revoke).
    api("DELETE /api/auth/token", users=204),
    api("GET /api/me", users=200),
    api("GET /api/wallet", users=200),
    api("GET /api/wallet/transactions", users=200),
    api("GET /api/wallet/statement.csv", users=200),
    api("GET /api/ledger/seal", users=200),
    api("POST /api/wallet/deposit", users=201, body={"amount": "10.00"}),
    # Only the buyer holds money: for everyone else it is their own empty wallet (409).
    api("POST /api/wallet/withdraw", users=409, buyer=201, body={"amount": "10.00"}),
    api("GET /api/groups", users=200),
    api("POST /api/groups", users=201, body={"name": "New group", "skills": ["go"]}),
    api("GET /api/groups/{group_id}", group_id="idle_group", users=200),
    api("DELETE /api/groups/{group_id}", group_id="idle_group", users=403, leader=204),
    api(
        "POST /api/groups/{group_id}/members",
        group_id="idle_group",
        users=403,
        leader=201,
        body={"username": "m_newcomer"},
    ),
    # Leaving is the caller's own membership: 409 `not_a_member` for anyone outside.
    api(
        "POST /api/groups/{group_id}/leave",
        group_id="idle_group",
        users=409,
        member=200,
        leader=409,
    ),
    api(
        "POST /api/groups/{group_id}/transfer-leadership",
        group_id="idle_group",
        users=403,
        leader=200,
        body=lambda ids: {"user_id": ids["member_user"]},
    ),
    api(
        "GET /api/groups/{group_id}/wallet",
        group_id="idle_group",
        users=404,
        leader=200,
        member=200,
    ),
    api("GET /api/conversations", users=200),
    # The buyer gets their existing conversation, members 400 `own_group`, anyone else a new one.
    api(
        "POST /api/conversations",
        users=201,
        buyer=200,
        leader=400,
        member=400,
        body=lambda ids: {"group_id": ids["idle_group"]},
    ),
    api(
        "GET /api/conversations/{conversation_id}/messages",
        conversation_id="pending_conversation",
        parties=200,
        outsiders=404,
    ),
    api(
        "POST /api/conversations/{conversation_id}/messages",
        conversation_id="pending_conversation",
        parties=201,
        outsiders=404,
        body={"body": "Hello"},
    ),
    api(
        "POST /api/conversations/{conversation_id}/read",
        conversation_id="pending_conversation",
        parties=200,
        outsiders=404,
        body={},
    ),
    api("GET /api/notifications", users=200),
    api("GET /api/notifications/unread-count", users=200),
    api("POST /api/notifications/read", users=200, body={}),
    api("GET /api/proposals", users=200),
    *(
        api(operation, parties=403, leader=201, outsiders=404, body=_proposal_create)
        for operation in ("POST /api/proposals", "POST /api/proposals/create")
    ),
    api("GET /api/proposals/{proposal_id}", proposal_id="pending", parties=200, outsiders=404),
    *_action_rows(),
    *(
        api(operation, parties=403, leader=201, outsiders=404, body=_task_create)
        for operation in ("POST /api/tasks", "POST /api/tasks/create")
    ),
    # `?proposal_id=` is filled in by the test (see `QUERIES`).
    api("GET /api/tasks", parties=200, outsiders=404),
    api(
        "PATCH /api/tasks/{task_id}",
        task_id="task",
        parties=200,
        buyer=403,
        outsiders=404,
        body={"status": "in_progress"},
    ),
    *(
        api(operation, parties=201, member=403, outsiders=404, body=_dispute_open)
        for operation in ("POST /api/disputes", "POST /api/disputes/create")
    ),
    api(
        "GET /api/disputes/{dispute_id}",
        dispute_id="dispute",
        parties=200,
        outsiders=404,
        support=200,
    ),
    api(
        "POST /api/disputes/{dispute_id}/messages",
        dispute_id="dispute",
        parties=201,
        outsiders=404,
        support=201,
        body={"body": "Here is the proof."},
    ),
    api(
        "POST /api/disputes/{dispute_id}/resolve",
        dispute_id="dispute",
        parties=403,
        outsiders=404,
        support=200,
        body={"outcome": "refund", "note": "Never delivered."},
    ),
    api("GET /api/projects", users=200),
    api(
        "POST /api/projects/create",
        users=201,
        body={"title": "Old way", "description": "", "budget": "50.00"},
    ),
    api(
        "POST /api/orders/create",
        users=404,
        buyer=201,
        body=lambda ids: {"project_id": ids["project"], "amount": "40.00"},
    ),
    api(
        "POST /api/legacy/projects/{project_id}/continue",
        project_id="project",
        users=404,
        buyer=201,
        body=lambda ids: {"group_id": ids["idle_group"]},
    ),
    # Open to anyone (CONTRACT.md "General"); not operations of the schema itself.
    api("GET /api/schema/", anonymous=200, users=200),
    api("GET /api/docs/", anonymous=200, users=200),
]

QUERIES = {"GET /api/tasks": lambda ids: {"proposal_id": ids["in_progress"]}}

# --- the pages ---------------------------------------------------------------------------

PAGE_ACTIONS = {
    action.replace("-", "_"): deal_actor
    for action, deal_actor in PROPOSAL_ACTIONS.items()
    if action != "extend-auto-release"
}


def _page_action_rows():
    for action, (deal, actor) in PAGE_ACTIONS.items():
        others = {role: "refused" for role in PARTIES if role != actor}
        yield page(
            f"POST /proposals/{{obj}}/{action}/",
            obj=deal,
            body={"note": "More pages."} if action == "request_changes" else {},
            outsiders=404,
            **{actor: "ok"},
            **others,
        )


PAGES = [
    page("GET /", anonymous=200, users=200),
    page("GET /healthz", anonymous=200, users=200),
    # Prometheus text: staff sessions (or the bearer token), not users (README).
    page("GET /metrics", anonymous=401, users=403, staff=200, finance=200, support=200),
    page("GET /accounts/signup/", anonymous=200, users="ok"),
    page("GET /accounts/login/", anonymous=200, users="ok"),
    page("POST /accounts/logout/", anonymous="ok", users="ok"),
    page("GET /accounts/password/", users=200),
    page("GET /accounts/password/done/", users=200),
    page("GET /groups/", anonymous=200, users=200),
    page("GET /groups/mine/", users=200),
    page("POST /groups/mine/", users="ok", body={"name": "Page group", "skills": "go"}),
    page("GET /groups/{obj}/", obj="idle_group", anonymous=200, users=200),
    page("GET /groups/{obj}/manage/", obj="idle_group", users=404, leader=200, member=200),
    page(
        "POST /groups/{obj}/members/",
        obj="idle_group",
        users=404,
        leader="ok",
        member="refused",
        body={"username": "m_newcomer"},
    ),
    page("POST /groups/{obj}/leave/", obj="idle_group", users=404, leader="refused", member="ok"),
    page(
        "POST /groups/{obj}/transfer/",
        obj="idle_group",
        users=404,
        leader="ok",
        member="refused",
        body=lambda ids: {"new_leader": ids["member_user"]},
    ),
    page("POST /groups/{obj}/delete/", obj="idle_group", users=404, leader="ok", member="refused"),
    page(
        "POST /groups/{obj}/conversation/",
        obj="idle_group",
        users="ok",
        leader="refused",
        member="refused",
    ),
    page("GET /groups/{obj}/wallet/", obj="idle_group", users=404, leader=200, member=200),
    page("GET /conversations/", users=200),
    page("GET /conversations/{obj}/", obj="pending_conversation", parties=200, outsiders=404),
    page(
        "POST /conversations/{obj}/messages/",
        obj="pending_conversation",
        parties="ok",
        outsiders=404,
        body={"body": "Hello"},
    ),
    page(
        "GET /conversations/{obj}/proposals/",
        obj="pending_conversation",
        parties=200,
        outsiders=404,
    ),
    page(
        "POST /conversations/{obj}/proposals/new/",
        obj="idle_conversation",
        parties="refused",
        leader="ok",
        outsiders=404,
        body={"title": "Shop", "price": "250.00", "currency": "USD"},
    ),
    *_page_action_rows(),
    page(
        "POST /proposals/{obj}/extend-auto-release/",
        obj="delivered",
        parties="refused",
        buyer="ok",
        outsiders=404,
    ),
    page("GET /proposals/{obj}/tasks/", obj="in_progress", parties=200, outsiders=404),
    page("GET /proposals/{obj}/tasks/board/", obj="in_progress", parties=200, outsiders=404),
    page(
        "POST /proposals/{obj}/tasks/new/",
        obj="in_progress",
        parties="refused",
        leader="ok",
        outsiders=404,
        body={"title": "Copy"},
    ),
    page(
        "POST /tasks/{obj}/move/",
        obj="task",
        parties="ok",
        buyer="refused",
        outsiders=404,
        body={"status": "in_progress"},
    ),
    page(
        "POST /tasks/{obj}/assign/",
        obj="task",
        parties="refused",
        leader="ok",
        outsiders=404,
        body=lambda ids: {f"task{ids['task']}-assignee": ids["member_user"]},
    ),
    page("GET /disputes/", users=200),
    page("GET /proposals/{obj}/dispute/", obj="in_progress", parties=200, outsiders=404),
    page(
        "POST /proposals/{obj}/dispute/",
        obj="in_progress",
        parties="ok",
        member="refused",
        outsiders=404,
        body={"reason": "Late."},
    ),
    page("GET /disputes/{obj}/", obj="dispute", parties=200, outsiders=404, support=200),
    page("GET /disputes/{obj}/thread/", obj="dispute", parties=200, outsiders=404, support=200),
    page(
        "POST /disputes/{obj}/messages/",
        obj="dispute",
        parties="ok",
        outsiders=404,
        support="ok",
        body={"body": "Proof."},
    ),
    page("GET /wallet/", users=200),
    page("GET /wallet/summary/", users=200),
    page("GET /wallet/statement.csv", users=200),
    page(
        "POST /wallet/deposit/",
        users="ok",
        body={"deposit-amount": "10.00", "deposit-key": "matrix-deposit"},
    ),
    page(
        "POST /wallet/withdraw/",
        users="refused",
        buyer="ok",
        body={"withdraw-amount": "10.00", "withdraw-key": "matrix-withdraw"},
    ),
    page("GET /notifications/", users=200),
    page("GET /notifications/bell/", users=200),
    page("POST /notifications/read/", users="ok"),
    page("GET /legacy/projects/", users=200),
    page(
        "POST /legacy/projects/",
        users="ok",
        body={"title": "Old way", "budget": "50.00", "currency": "USD"},
    ),
    page("GET /legacy/projects/{obj}/", obj="project", users=404, buyer=200),
    page(
        "POST /legacy/projects/{obj}/orders/",
        obj="project",
        users=404,
        buyer="ok",
        body={"amount": "40.00"},
    ),
    page(
        "POST /legacy/projects/{obj}/continue/",
        obj="project",
        users=404,
        buyer="ok",
        body=lambda ids: {"group": ids["idle_group"]},
    ),
]

# --- the admin's money actions (and the staff-only admin pages around them) ---------------

NOT_STAFF = {role: "admin_login" for role in ("stranger", *PARTIES, "former")}


def admin(route: str, body=None, label="", **staff) -> Row:
    method, path = route.split(" ", 1)
    params = {key: staff.pop(key) for key in list(staff) if key.startswith("obj")}
    return Row(method, path, outcomes("admin_login", **NOT_STAFF, **staff), body, params, label)


def _settle(action: str):
    def body(ids):
        return {
            "action": action,
            "_selected_action": [ids["delivered" if action == "release_escrow" else "accepted"]],
            "confirm": "yes",
            "reason": "Settled by finance.",
        }

    return body


ADMIN = [
    admin("GET /admin/metrics/", staff=200, finance=200, support=200),
    admin(
        "POST /admin/proposals/proposal/",
        staff=403,
        finance="ok",
        support=403,
        body=_settle("release_escrow"),
        label="release_escrow",
    ),
    admin(
        "POST /admin/proposals/proposal/",
        staff=403,
        finance="ok",
        support=403,
        body=_settle("refund_escrow"),
        label="refund_escrow",
    ),
    admin(
        "POST /admin/disputes/dispute/{obj}/resolve/",
        obj="dispute",
        staff=403,
        finance=403,
        support="ok",
        body={"outcome": "refund", "note": "Never delivered."},
    ),
    admin(
        "POST /admin/escrow/wallet/{obj}/adjust/",
        obj="buyer_wallet",
        staff=403,
        finance="ok",
        support=403,
        body={"amount": "5.00", "reason": "Goodwill.", "idempotency_key": "matrix-adjust"},
    ),
    admin(
        "POST /admin/escrow/wallet/",
        staff=403,
        finance="ok",
        support=403,
        body=lambda ids: {"action": "adjust_balance", "_selected_action": [ids["buyer_wallet"]]},
        label="adjust_balance",
    ),
    admin(
        "GET /admin/escrow/escrowtransaction/fees-by-month.csv",
        staff=403,
        finance=200,
        support=403,
    ),
]

# --- the websockets ----------------------------------------------------------------------

SOCKETS = [
    page(
        "WS /ws/conversations/{obj}/",
        anonymous=4401,
        obj="pending_conversation",
        parties="accept",
        outsiders=4404,
    ),
    page("WS /ws/notifications/", anonymous=4401, users="accept"),
    # Any other path is refused at the handshake, signed in or not.
    page("WS /ws/conversations/abc/", anonymous=4404, users=4404),
]


def cells(rows):
    """(row, role) for every cell, each with its own test id."""
    import pytest

    return [pytest.param(row, role, id=f"{row.name} as {role}") for row in rows for role in ROLES]
