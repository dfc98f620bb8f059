"""The wallet pages: balances, history in words, sandbox deposits, withdrawals, the group
wallet for members only."""

import re

import pytest

from escrow.models import EscrowTransaction
from proposals.models import Proposal
from tests.factories import GroupFactory, UserFactory
from tests.proposals.factories import bring_to, fund, user_money

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db


def form_key(client, prefix):
    html = client.get("/wallet/").content.decode()
    return re.search(rf'name="{prefix}-key" value="(\w+)"', html).group(1)


def test_an_empty_wallet(as_user):
    page = as_user(UserFactory()).get("/wallet/")
    body = text(page)
    assert "Available 0.00 USD In escrow 0.00 USD Total 0.00 USD" in body
    assert "No money has moved yet." in body
    assert 'href="/wallet/statement.csv"' in page.content.decode()


def test_deposit_and_withdraw_through_the_page(as_user, ledger_clean):
    user = UserFactory()
    client = as_user(user)
    key = form_key(client, "deposit")
    response = csrf_post(
        client, "/wallet/deposit/", {"deposit-amount": "250.00", "deposit-key": key}
    )
    assert response["Location"] == "/wallet/"
    assert flashes(response) == ["250.00 USD was added to your wallet."]
    # The same form sent twice (a double click) moves the money once.
    csrf_post(client, "/wallet/deposit/", {"deposit-amount": "250.00", "deposit-key": key})
    assert user_money(user) == (250, 0)
    ledger_clean()

    response = csrf_post(
        client,
        "/wallet/withdraw/",
        {"withdraw-amount": "300.00", "withdraw-key": form_key(client, "withdraw")},
    )
    assert flashes(response) == [
        "Your available balance, 250.00 USD, is below the withdrawal of 300.00 USD. "
        "Withdraw at most your available balance."
    ]
    response = csrf_post(
        client,
        "/wallet/withdraw/",
        {"withdraw-amount": "100.50", "withdraw-key": form_key(client, "withdraw")},
    )
    assert flashes(response) == [
        "Your withdrawal of 100.50 USD is requested: it is on its way to your bank."
    ]
    assert user_money(user) == (149.50, 0)
    ledger_clean()
    page = text(client.get("/wallet/"))
    assert "Available 149.50 USD In escrow 0.00 USD Total 149.50 USD" in page
    assert page.index("Withdrawal requested \N{MINUS SIGN}100.50 USD") < page.index(
        "Deposit (sandbox payment) +250.00 USD"
    )
    assert EscrowTransaction.objects.count() == 2

    response = csrf_post(
        client, "/wallet/deposit/", {"deposit-amount": "-5", "deposit-key": "k-negative"}
    )
    assert flashes(response) == ["Amount must be above zero."]


def test_deposits_are_refused_in_words_without_the_sandbox(as_user, settings):
    settings.PAYMENTS_SANDBOX = False
    client = as_user(UserFactory())
    assert "Deposits are switched off on this site" in text(client.get("/wallet/"))
    response = csrf_post(
        client, "/wallet/deposit/", {"deposit-amount": "5.00", "deposit-key": "k1"}
    )
    assert flashes(response) == [
        "Deposits are switched off on this site: no payment provider is enabled."
    ]


def test_the_summary_partial(as_user):
    user = UserFactory()
    fund(user, "12.34")
    response = as_user(user).get("/wallet/summary/")
    html = response.content.decode()
    assert html.startswith('<div id="wallet-summary"')
    assert 'hx-trigger="mp-wallet from:body"' in html
    assert "Available 12.34 USD" in text(response)


def test_the_group_wallet_is_for_members_only(as_user, team, ledger_clean):
    bring_to(team, Proposal.Status.ACCEPTED, price="200.00")
    for who in ("leader", "m1"):
        page = as_user(team.people[who]).get(f"/groups/{team.group.pk}/wallet/")
        assert page.status_code == 200
        assert "Held in escrow for the group's deals 200.00 USD" in text(page)
        assert "Released to the leader and members, ever 0.00 USD" in text(page)
    assert as_user(team.buyer).get(f"/groups/{team.group.pk}/wallet/").status_code == 404
    assert as_user(UserFactory()).get(f"/groups/{team.group.pk}/wallet/").status_code == 404
    empty = GroupFactory()
    assert "Available 0.00 USD" in text(as_user(empty.leader).get(f"/groups/{empty.pk}/wallet/"))
    ledger_clean()


@pytest.mark.parametrize("amount", ["1e30", "1_000", "\u0661\u0662", "1" * 10_000])
def test_absurd_amounts_on_the_page_are_refused_in_words(as_user, amount, ledger_clean):
    user = UserFactory()
    client = as_user(user)
    response = csrf_post(
        client,
        "/wallet/deposit/",
        {"deposit-amount": amount, "deposit-key": form_key(client, "deposit")},
    )
    assert response.status_code == 302
    [flash] = flashes(response)  # one message, with an example of what is wanted
    assert "such as" in flash and "12.50" in flash
    assert not EscrowTransaction.objects.filter(to_wallet__user=user).exists()
    ledger_clean()
