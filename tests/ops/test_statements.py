"""CSV statements: a user's wallet transactions (API and page) and the platform's fees
by month (finance only), with their exact content."""

from contextlib import contextmanager
from datetime import UTC, timedelta
from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from escrow.models import EscrowTransaction, Wallet
from escrow.services import wallet_adjust
from proposals import services
from tests.conftest import streamed_text as body
from tests.proposals.factories import bring_to, fund, make_team, usd

HEADER = (
    "date,transaction_id,kind,description,available_change,escrow_change,"
    "available_after,escrow_after,currency,memo,seal_id,seal_hash"
)

pytestmark = pytest.mark.django_db


def _stamp(entry) -> str:
    return entry.created_at.astimezone(UTC).isoformat(timespec="seconds")


def test_the_buyers_statement(client_for, anon):
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, "completed", price="1000.00")
    entries = list(EscrowTransaction.objects.order_by("created_at", "id"))
    deposit, lock, *payout = entries
    by_kind = {entry.kind: entry for entry in payout}
    shares = sorted((e for e in payout if e.kind == "member_share"), key=lambda e: e.leg)

    response = client_for(team.buyer).get("/api/wallet/statement.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="wallet-statement-')
    expected = [
        HEADER,
        f"{_stamp(deposit)},{deposit.pk},deposit,Deposit,1500.00,0.00,1500.00,0.00,USD,"
        f"{deposit.memo},,",
        f"{_stamp(lock)},{lock.pk},escrow_lock,Escrow locked,-1000.00,1000.00,500.00,1000.00,"
        "USD,,,",
        f"{_stamp(by_kind['platform_fee'])},{by_kind['platform_fee'].pk},platform_fee,"
        "Platform fee,0.00,-100.00,500.00,900.00,USD,,,",
        f"{_stamp(by_kind['leader_commission'])},{by_kind['leader_commission'].pk},"
        "leader_commission,Leader commission,0.00,-30.00,500.00,870.00,USD,,,",
        f"{_stamp(shares[0])},{shares[0].pk},member_share,Member share,0.00,-435.00,"
        "500.00,435.00,USD,,,",
        f"{_stamp(shares[1])},{shares[1].pk},member_share,Member share,0.00,-435.00,"
        "500.00,0.00,USD,,,",
    ]
    assert body(response).split("\r\n") == [*expected, ""]
    assert proposal.pk

    leader = body(client_for(team.leader).get("/api/wallet/statement.csv"))
    leader_lines = leader.split("\r\n")[1:-1]
    assert [line.split(",")[2:8] for line in leader_lines] == [
        ["leader_commission", "Leader commission", "30.00", "0.00", "30.00", "0.00"],
        ["member_share", "Member share", "435.00", "0.00", "465.00", "0.00"],
    ]

    assert anon.get("/api/wallet/statement.csv").status_code == 401
    csv_accept = client_for(team.buyer).get("/api/wallet/statement.csv", HTTP_ACCEPT="text/csv")
    assert csv_accept.status_code == 200


def test_the_statement_page_needs_a_login(client):
    team = make_team(members=0, deposit="10.00")
    assert client.get("/wallet/statement.csv").status_code == 302
    client.force_login(team.buyer)
    page = client.get("/wallet/statement.csv")
    assert page.status_code == 200
    lines = body(page).split("\r\n")
    assert lines[0] == HEADER
    assert lines[1].split(",")[2:9] == [
        "deposit",
        "Deposit",
        "10.00",
        "0.00",
        "10.00",
        "0.00",
        "USD",
    ]


def test_a_user_without_a_wallet_gets_the_header_only(client_for):
    from tests.factories import UserFactory

    response = client_for(UserFactory()).get("/api/wallet/statement.csv")
    assert body(response) == HEADER + "\r\n"


def test_platform_fees_by_month_for_finance_only(finance, plain_staff, admin_client_for):
    first, second = make_team(), make_team()
    bring_to(first, "completed", price="1000.00")
    bring_to(second, "completed", price="333.33")  # fee 33.33
    wallet_adjust(
        wallet=Wallet.objects.get(user=first.buyer),
        amount=usd("5.00"),
        reason="Goodwill.",
        actor=finance,
        idempotency_key="adj-1",
    )
    url = "/admin/escrow/escrowtransaction/fees-by-month.csv"

    response = admin_client_for(finance).get(url)

    assert response.status_code == 200
    month = timezone.now().strftime("%Y-%m")
    assert response.content.decode() == (
        "month,currency,platform_fees,fee_entries,adjustments_in,adjustments_out,net_revenue\r\n"
        f"{month},USD,133.33,2,0.00,5.00,128.33\r\n"
    )
    assert admin_client_for(plain_staff).get(url).status_code == 403


def test_a_date_range_lists_its_days_with_balances_counting_what_came_before(client_for):
    day = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    team = make_team(members=1, deposit=None)
    with on_day(day - timedelta(days=1)):
        fund(team.buyer, "1500.00")
        proposal = bring_to(team, "delivered", price="1000.00")  # locked on the first day
    with on_day(day + timedelta(days=1)):
        services.proposal_confirm(proposal=proposal, actor=team.buyer)
    client = client_for(team.buyer)
    before, after = f"{day - timedelta(days=1):%Y-%m-%d}", f"{day + timedelta(days=1):%Y-%m-%d}"

    the_first_day = body(client.get(f"/api/wallet/statement.csv?from={before}&to={day:%Y-%m-%d}"))
    the_last_day = body(client.get(f"/api/wallet/statement.csv?from={after}"))

    assert [line.split(",")[2:8] for line in the_first_day.split("\r\n")[1:-1]] == [
        ["deposit", "Deposit", "1500.00", "0.00", "1500.00", "0.00"],
        ["escrow_lock", "Escrow locked", "-1000.00", "1000.00", "500.00", "1000.00"],
    ]
    assert [line.split(",")[2:8] for line in the_last_day.split("\r\n")[1:-1]] == [
        ["platform_fee", "Platform fee", "0.00", "-100.00", "500.00", "900.00"],
        ["leader_commission", "Leader commission", "0.00", "-30.00", "500.00", "870.00"],
        ["member_share", "Member share", "0.00", "-435.00", "500.00", "435.00"],
        ["member_share", "Member share", "0.00", "-435.00", "500.00", "0.00"],
    ]


@contextmanager
def on_day(moment):
    """Entries written inside are stamped `moment` (the ledger is append-only: a test
    cannot move them afterwards)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.mark.parametrize(
    "raw",
    [
        "2026-13-01",
        "26-01-01",
        "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0661",
        "2026-01-01T00:00",
        "x" * 10_000,
    ],
)
def test_a_bad_date_is_400_invalid_date(client_for, raw):
    team = make_team(members=0, deposit="10.00")

    response = client_for(team.buyer).get("/api/wallet/statement.csv", {"from": raw})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_date"


def test_the_statement_streams_with_a_bounded_number_of_queries(
    client_for, django_assert_max_num_queries
):
    team = make_team(members=1, deposit="1500.00")
    for _ in range(3):
        bring_to(team, "completed", price="100.00")
    client = client_for(team.buyer)

    # The caller, the balances before `from`, and one streamed read per side of the wallet
    # (escrow.wallet_entries) in one transaction (its savepoint here), however many lines.
    with django_assert_max_num_queries(9):
        lines = body(client.get("/api/wallet/statement.csv?from=2000-01-01")).split("\r\n")

    assert len(lines) == 1 + 1 + 3 * 5 + 1  # header, deposit, 3 x (lock + 4 legs), end


@pytest.mark.django_db(transaction=True)
def test_the_first_lines_leave_before_the_last_are_read(monkeypatch):
    """Through the ASGI application, as uvicorn runs it: the statement leaves in chunks
    of `LINES_PER_CHUNK` lines as they are read (an asynchronous iterator), where Django
    would read a synchronous iterator whole before sending its first line."""
    from asgiref.testing import ApplicationCommunicator

    from marketplace.asgi import application
    from marketplace.core.api_tokens import token_issue

    team = make_team(members=1, deposit="100.00")
    for _ in range(5):
        fund(team.buyer, "1.00")
    with transaction.atomic():
        token = token_issue(team.buyer)
    monkeypatch.setattr("escrow.api_statements.LINES_PER_CHUNK", 2)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/wallet/statement.csv",
        "raw_path": b"/api/wallet/statement.csv",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Token {token}".encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def first_and_rest():
        talk = ApplicationCommunicator(application, scope)
        await talk.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await talk.receive_output(10)
        chunks = [await talk.receive_output(10)]
        while chunks[-1].get("more_body"):
            chunks.append(await talk.receive_output(10))
        return start, chunks

    start, chunks = async_to_sync(first_and_rest)()

    assert start["status"] == 200
    bodies = [chunk.get("body", b"") for chunk in chunks]
    lines = b"".join(bodies).decode().split("\r\n")
    assert lines[0] == HEADER and len(lines) == 1 + 6 + 1  # header, 6 entries, end
    first = next(position for position, body in enumerate(bodies) if body)
    assert bodies[first].decode().count("\r\n") == 2  # the first two lines, alone...
    assert chunks[first]["more_body"] is True  # ...sent with more to come
