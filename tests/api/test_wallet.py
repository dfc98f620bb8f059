"""GET /api/wallet, GET /api/wallet/transactions, POST /api/wallet/deposit and withdraw."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from escrow import services as escrow_services
from escrow.models import EscrowTransaction, Wallet
from escrow.money import Rates
from tests.factories import GroupFactory, UserFactory

from .conftest import ABSURD_AMOUNTS, balances, entry_count, fund, usd

pytestmark = pytest.mark.django_db
STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))
BAD_AMOUNTS = [
    "10.001",
    "0",
    "0.00",
    "-5",
    "abc",
    12.5,
    "1000000.01",
    "NaN",
    "Infinity",
    "",
    True,
    [1],
    *ABSURD_AMOUNTS,
]


def deposit(client, amount, **extra):
    return client.post("/api/wallet/deposit", {"amount": amount, **extra}, format="json")


def withdraw(client, amount, **extra):
    return client.post("/api/wallet/withdraw", {"amount": amount, **extra}, format="json")


# --- wallet -------------------------------------------------------------------------


def test_wallet_of_a_new_user_is_empty(alice):
    response = alice.get("/api/wallet")

    assert response.status_code == 200
    assert response.json() == {
        "currency": "USD",
        "balance": "0.00",
        "available_balance": "0.00",
        "escrow_balance": "0.00",
    }


def test_wallet_balance_is_available_plus_escrow(alice, user, ledger_clean):
    fund(user, "100.00")
    escrow_services.escrow_lock(
        buyer=user, group=GroupFactory(), amount=usd("30.25"), idempotency_key="lock"
    )

    assert alice.get("/api/wallet/").json() == {
        "currency": "USD",
        "balance": "100.00",
        "available_balance": "69.75",
        "escrow_balance": "30.25",
    }
    ledger_clean()


def test_wallet_endpoints_need_credentials(anon):
    assert anon.get("/api/wallet").status_code == 401
    assert anon.get("/api/wallet/transactions").status_code == 401
    assert deposit(anon, "10.00").status_code == 401
    assert withdraw(anon, "10.00").status_code == 401
    assert not EscrowTransaction.objects.exists()


# --- deposit ------------------------------------------------------------------------


def test_deposit_credits_the_available_balance(alice, user, ledger_clean):
    response = deposit(alice, "250.75")

    assert response.status_code == 201
    entry = EscrowTransaction.objects.get()
    assert response.json() == {
        "transaction": {
            "id": entry.pk,
            "kind": "deposit",
            "amount": "250.75",
            "currency": "USD",
            "direction": "in",
            "created_at": entry.created_at.isoformat().replace("+00:00", "Z"),
            "memo": entry.memo,
            "seal_id": None,
            "seal_hash": None,
        },
        "wallet": {
            "currency": "USD",
            "balance": "250.75",
            "available_balance": "250.75",
            "escrow_balance": "0.00",
        },
    }
    assert entry.to_wallet == Wallet.objects.get(user=user)
    assert balances(user) == ("250.75", "250.75", "0.00")
    ledger_clean()


def test_deposits_add_up_to_the_cent(alice, user, ledger_clean):
    for amount in ("0.01", "0.10", "999.99", "1000000.00"):
        assert deposit(alice, amount).status_code == 201

    assert balances(user) == ("1001000.10", "1001000.10", "0.00")
    assert entry_count(kind="deposit") == 4
    ledger_clean()


def test_deposit_through_the_trailing_slash_route(alice, user):
    response = alice.post("/api/wallet/deposit/", {"amount": "5.00"}, format="json")
    assert response.status_code == 201
    assert balances(user) == ("5.00", "5.00", "0.00")


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_deposit_refuses_invalid_amounts_and_writes_nothing(alice, user, amount, ledger_clean):
    response = deposit(alice, amount)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_amount"
    assert not EscrowTransaction.objects.exists()
    ledger_clean()


@pytest.mark.parametrize("body", [{}, {"amount": None}])
def test_deposit_names_a_missing_amount(alice, body):
    response = alice.post("/api/wallet/deposit", body, format="json")

    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]


def test_deposit_in_another_currency_than_the_wallets_is_refused(alice, user):
    fund(user, "10.00")

    response = deposit(alice, "5.00", currency="EUR")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "currency_mismatch"
    assert balances(user) == ("10.00", "10.00", "0.00")


def test_deposit_in_an_unsupported_currency_names_the_field(alice):
    response = deposit(alice, "5.00", currency="XYZ")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["currency"]


def test_deposit_is_404_when_the_sandbox_provider_is_off(alice, user, settings):
    settings.PAYMENTS_SANDBOX = False

    response = deposit(alice, "10.00")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payments_disabled"
    assert not EscrowTransaction.objects.exists()


# --- withdraw -----------------------------------------------------------------------


def test_withdraw_takes_money_out_of_the_available_balance(alice, user, ledger_clean):
    fund(user, "100.00")

    response = withdraw(alice, "40.01")

    assert response.status_code == 201
    body = response.json()
    assert body["transaction"]["kind"] == "withdrawal"
    assert body["transaction"]["amount"] == "40.01"
    assert body["transaction"]["direction"] == "out"
    assert body["wallet"] == {
        "currency": "USD",
        "balance": "59.99",
        "available_balance": "59.99",
        "escrow_balance": "0.00",
    }
    assert balances(user) == ("59.99", "59.99", "0.00")
    ledger_clean()


def test_withdrawing_everything_leaves_zero(alice, user, ledger_clean):
    fund(user, "100.00")

    assert withdraw(alice, "100.00").status_code == 201
    assert balances(user) == ("0.00", "0.00", "0.00")
    ledger_clean()


def test_withdraw_above_the_available_balance_is_409_and_changes_nothing(alice, user, ledger_clean):
    fund(user, "100.00")
    escrow_services.escrow_lock(
        buyer=user, group=GroupFactory(), amount=usd("60.00"), idempotency_key="lock"
    )

    response = withdraw(alice, "40.01")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_funds"
    assert "40.00" in error["message"]
    assert balances(user) == ("100.00", "40.00", "60.00")
    assert entry_count(kind="withdrawal") == 0
    ledger_clean()


def test_withdraw_from_a_user_without_a_wallet_is_409(alice, user):
    response = withdraw(alice, "1.00")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_funds"


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_withdraw_refuses_invalid_amounts(alice, user, amount, ledger_clean):
    fund(user, "100.00")

    response = withdraw(alice, amount)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_amount"
    assert balances(user) == ("100.00", "100.00", "0.00")
    ledger_clean()


# --- transactions -------------------------------------------------------------------


def test_transactions_list_everything_touching_the_wallet_newest_first(alice, user, ledger_clean):
    leader, member = UserFactory(), UserFactory()
    group = GroupFactory(leader=leader, members=[member])
    fund(user, "500.00")
    kept = escrow_services.escrow_lock(
        buyer=user, group=group, amount=usd("100.00"), idempotency_key="lock-1"
    )
    refunded = escrow_services.escrow_lock(
        buyer=user, group=group, amount=usd("50.00"), idempotency_key="lock-2"
    )
    escrow_services.escrow_refund(hold=refunded, idempotency_key="refund-2")
    escrow_services.escrow_release(
        hold=kept, leader=leader, members=[leader, member], rates=STANDARD, idempotency_key="rel"
    )
    escrow_services.wallet_withdraw(user=user, amount=usd("20.00"), idempotency_key="out")
    fund(UserFactory(), "999.00")  # someone else's money is not listed

    body = alice.get("/api/wallet/transactions").json()

    rows = [(r["kind"], r["amount"], r["currency"], r["direction"]) for r in body["results"]]
    assert rows == [
        ("withdrawal", "20.00", "USD", "out"),
        ("member_share", "43.50", "USD", "out"),
        ("member_share", "43.50", "USD", "out"),
        ("leader_commission", "3.00", "USD", "out"),
        ("platform_fee", "10.00", "USD", "out"),
        ("refund", "50.00", "USD", "in"),
        ("escrow_lock", "50.00", "USD", "out"),
        ("escrow_lock", "100.00", "USD", "out"),
        ("deposit", "500.00", "USD", "in"),
    ]
    assert body["count"] == 9
    assert set(body["results"][0]) == {
        "id",
        "kind",
        "amount",
        "currency",
        "direction",
        "created_at",
        "memo",
        "seal_id",
        "seal_hash",
    }
    assert balances(user) == ("380.00", "380.00", "0.00")
    assert alice.get("/api/wallet").json()["balance"] == "380.00"
    ledger_clean()


def test_a_member_sees_the_shares_paid_to_them_as_incoming(client_for, ledger_clean):
    buyer, leader, member = UserFactory(), UserFactory(), UserFactory()
    group = GroupFactory(leader=leader, members=[member])
    fund(buyer, "100.00")
    hold = escrow_services.escrow_lock(
        buyer=buyer, group=group, amount=usd("100.00"), idempotency_key="lock"
    )
    escrow_services.escrow_release(
        hold=hold, leader=leader, members=[leader, member], rates=STANDARD, idempotency_key="rel"
    )

    leader_rows = client_for(leader).get("/api/wallet/transactions").json()["results"]
    member_rows = client_for(member).get("/api/wallet/transactions").json()["results"]

    assert sorted((r["kind"], r["amount"], r["direction"]) for r in leader_rows) == [
        ("leader_commission", "3.00", "in"),
        ("member_share", "43.50", "in"),
    ]
    assert [(r["kind"], r["amount"], r["direction"]) for r in member_rows] == [
        ("member_share", "43.50", "in")
    ]
    assert client_for(member).get("/api/wallet").json()["available_balance"] == "43.50"
    ledger_clean()


def test_transactions_of_a_user_without_a_wallet_are_an_empty_page(alice):
    assert alice.get("/api/wallet/transactions/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_transactions_are_paginated(alice, user):
    for _ in range(21):
        fund(user, "1.00")

    first = alice.get("/api/wallet/transactions").json()

    assert first["count"] == 21
    assert len(first["results"]) == 20
    assert len(alice.get(first["next"]).json()["results"]) == 1


def test_transactions_cost_the_same_queries_for_2_and_10_rows(alice, user):
    def queries(total):
        while EscrowTransaction.objects.filter(to_wallet__user=user).count() < total:
            fund(user, "1.00")
        with CaptureQueriesContext(connection) as context:
            assert len(alice.get("/api/wallet/transactions").json()["results"]) == total
        return len(context)

    assert queries(2) == queries(10)
