"""CSV statements: a user's wallet transactions (API and page) and the platform's fees
by month (finance only), with their exact content."""

from datetime import UTC

import pytest
from django.utils import timezone

from escrow.models import EscrowTransaction, Wallet
from escrow.services import wallet_adjust
from tests.proposals.factories import bring_to, make_team, usd

HEADER = (
    "date,transaction_id,kind,description,available_change,escrow_change,"
    "available_after,escrow_after,currency,memo"
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
        f"{deposit.memo}",
        f"{_stamp(lock)},{lock.pk},escrow_lock,Escrow locked,-1000.00,1000.00,500.00,1000.00,USD,",
        f"{_stamp(by_kind['platform_fee'])},{by_kind['platform_fee'].pk},platform_fee,"
        "Platform fee,0.00,-100.00,500.00,900.00,USD,",
        f"{_stamp(by_kind['leader_commission'])},{by_kind['leader_commission'].pk},"
        "leader_commission,Leader commission,0.00,-30.00,500.00,870.00,USD,",
        f"{_stamp(shares[0])},{shares[0].pk},member_share,Member share,0.00,-435.00,"
        "500.00,435.00,USD,",
        f"{_stamp(shares[1])},{shares[1].pk},member_share,Member share,0.00,-435.00,"
        "500.00,0.00,USD,",
    ]
    assert response.content.decode().split("\r\n") == [*expected, ""]
    assert proposal.pk

    leader = client_for(team.leader).get("/api/wallet/statement.csv").content.decode()
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
    lines = page.content.decode().split("\r\n")
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
    assert response.content.decode() == HEADER + "\r\n"


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
