"""The wallet page's history adds up (issue 14, finding 1) and its chart (issue 14):
each line says what it changed in available and in escrow with both balances after it, as
the statement does; a release from the buyer's escrow is one line unfolding into its legs."""

import re
from decimal import Decimal

import pytest

from escrow.chart import MAX_POINTS, balance_series
from escrow.models import GroupWallet, Wallet
from proposals.models import Proposal
from tests.factories import UserFactory
from tests.proposals.factories import bring_to, fund

from .conftest import text

pytestmark = pytest.mark.django_db
S = Proposal.Status


def rows(response) -> list[str]:
    """The history's rows, each as its visible text."""
    body = response.content.decode()
    table = re.search(r'<table class="history ledger">.*?</table>', body, re.S).group(0)
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr data-kind.*?</tr>", table, re.S)
    ]


def column(response, field: str) -> list[Decimal]:
    values = re.findall(rf'data-field="{field}">([^<]*)<', response.content.decode())
    minus = "\N{MINUS SIGN}"
    numbers = (re.sub(rf"[^\d.+{minus}]", "", v).replace(minus, "-") for v in values)
    return [Decimal(number or "0") for number in numbers]


def test_the_buyers_history_adds_up_and_a_release_is_one_line(as_user, team, ledger_clean):
    bring_to(team, S.COMPLETED, price="350.00")
    page = as_user(team.buyer).get("/wallet/")
    group, leader = team.group.name, team.leader.username
    m1, m2 = (member.username for member in team.members)
    lines = [row.split(", ", 1)[1].split(" ", 1)[1] for row in rows(page)]  # past the date
    assert lines == [
        f"Released from escrow to {group}: 350.00 Platform fee 35.00 USD "
        f"Leader commission to {leader} 10.50 USD Member share to {leader} 101.50 USD "
        f"Member share to {m1} 101.50 USD Member share to {m2} 101.50 USD “Build the shop” "
        "\N{MINUS SIGN}350.00 USD 1150.00 0.00",
        "Paid into escrow for “Build the shop” \N{MINUS SIGN}350.00 USD +350.00 USD 1150.00 350.00",
        "Deposit (sandbox payment) +1500.00 USD 1500.00 0.00",
    ]
    # The lines add up to the balances the page shows above them.
    assert sum(column(page, "available-change")) == Decimal("1150.00")
    assert sum(column(page, "escrow-change")) == Decimal("0.00")
    assert "Available 1150.00 USD In escrow 0.00 USD Total 1150.00 USD" in text(page)
    # The release unfolds (a <details>) into its legs.
    assert re.search(
        r"<details class=\"legs\"><summary>Released from escrow to", page.content.decode()
    )
    ledger_clean()


def test_a_payee_sees_each_payment_once_with_its_balance(as_user, team):
    bring_to(team, S.COMPLETED, price="350.00")
    lines = rows(as_user(team.leader).get("/wallet/"))
    assert [line.split(" ", 4)[4] for line in lines] == [
        "Your member share of “Build the shop” +101.50 USD 112.00 0.00",
        "Your leader commission on “Build the shop” +10.50 USD 10.50 0.00",
    ]


def test_running_balances_carry_across_pages(as_user, django_assert_max_num_queries):
    user = UserFactory()
    for _ in range(30):
        fund(user, "1.00")
    client = as_user(user)
    client.get("/wallet/")  # the session and the CSRF cookie
    # The same however long the wallet's history (escrow.wallet_entries): the caller, the
    # wallet, the lines counted, the page's keys and rows, its statement rows (balances
    # before, one read per side, in a savepoint here), the chart (keys, balances before,
    # rows), seals, badge.
    with django_assert_max_num_queries(19):
        first = client.get("/wallet/")
    assert column(first, "available-after") == [Decimal(n) for n in range(30, 5, -1)]
    second = client.get("/wallet/?page=2")
    assert column(second, "available-after") == [Decimal(n) for n in range(5, 0, -1)]
    assert "Page 2 of 2" in text(second)


def test_the_chart_is_sampled_from_the_ledger_in_three_queries(django_assert_num_queries):
    user = UserFactory()
    for _ in range(MAX_POINTS + 10):
        fund(user, "2.00")
    wallet = Wallet.objects.get(user=user)
    # The newest entries' keys, the balances before them, the entries.
    with django_assert_num_queries(3):
        points = balance_series(account=wallet)
    assert len(points) <= MAX_POINTS
    # Every other entry counted back from the latest, which is always kept.
    assert [p.available for p in points] == [Decimal(2 * n) for n in range(2, 71, 2)]
    assert points[-1].escrow == Decimal("0.00")


def test_the_chart_spans_the_newest_entries_from_the_balances_before_them(monkeypatch):
    user = UserFactory()
    for amount in range(1, 31):
        fund(user, f"{amount}.00")
    monkeypatch.setattr("escrow.chart.CHART_ENTRIES", 10)

    points = balance_series(account=Wallet.objects.get(user=user))

    # The last ten deposits (21.00 to 30.00), each after the sum of all before it.
    assert [p.available for p in points] == [Decimal(n * (n + 1) // 2) for n in range(21, 31)]


def test_the_chart_on_the_wallet_and_the_group_wallet(as_user, team):
    bring_to(team, S.ACCEPTED, price="350.00")
    page = as_user(team.buyer).get("/wallet/").content.decode()
    chart = re.search(r"<figure class=\"wallet-chart\".*?</figure>", page, re.S).group(0)
    assert "<svg" in chart and "style=" not in chart and "<script" not in chart
    assert "Latest: 1150.00 USD available, 350.00 USD in escrow" in chart
    assert len(re.findall(r'<polyline class="chart-line', chart)) == 2

    group_page = as_user(team.members[0]).get(f"/groups/{team.group.pk}/wallet/")
    assert "Latest: 0.00 USD available, 350.00 USD in escrow" in group_page.content.decode()
    group_wallet = GroupWallet.objects.get(group=team.group)
    assert [p.escrow for p in balance_series(account=group_wallet)] == [Decimal("350.00")]


def test_an_empty_wallet_has_no_chart(as_user):
    page = as_user(UserFactory()).get("/wallet/").content.decode()
    assert "wallet-chart" not in page
