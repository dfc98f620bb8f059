"""GET /api/ledger/seal, and each wallet line's seal in GET /api/wallet/transactions and
the CSV statement (CONTRACT.md, "Additions": a tamper-evident ledger)."""

import csv
import hashlib
import io
from datetime import timedelta

import pytest

from escrow import sealing
from escrow.models import EscrowTransaction, LedgerSeal
from escrow.sealing import seal_ledger
from tests.conftest import streamed_text
from tests.factories import UserFactory

from .conftest import balances, fund

pytestmark = pytest.mark.django_db
NOW = timedelta(0)


def stamp(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_latest_seal_is_404_until_the_first_seal(alice, anon):
    assert anon.get("/api/ledger/seal").status_code == 401
    response = alice.get("/api/ledger/seal")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Nothing is sealed yet."}}


def test_the_latest_seal_is_what_anyone_signed_in_can_pin(
    alice, user, client_for, django_assert_max_num_queries, ledger_clean
):
    fund(user, "250.75")
    seal_ledger(settle=NOW)
    fund(UserFactory(), "0.01")
    latest = seal_ledger(settle=NOW)
    stranger = client_for(UserFactory())

    with django_assert_max_num_queries(2):
        response = stranger.get("/api/ledger/seal")

    assert response.status_code == 200
    assert response.json() == {
        "id": latest.pk,
        "hash": latest.hash,
        "sealed_through_id": EscrowTransaction.objects.order_by("id").last().pk,
        "created_at": stamp(latest.created_at),
    }
    assert alice.get("/api/ledger/seal").json()["hash"] == latest.hash
    ledger_clean()


def test_wallet_lines_carry_their_seal_once_sealed(
    alice, user, django_assert_max_num_queries, ledger_clean
):
    first = fund(user, "100.00")
    seal = seal_ledger(settle=NOW)
    second = fund(user, "0.35")

    with django_assert_max_num_queries(5):
        body = alice.get("/api/wallet/transactions").json()

    assert [
        (row["id"], row["amount"], row["seal_id"], row["seal_hash"]) for row in body["results"]
    ] == [
        (second.pk, "0.35", None, None),
        (first.pk, "100.00", seal.pk, seal.hash),
    ]
    expected = hashlib.sha256(
        sealing.row_digest(
            EscrowTransaction.objects.filter(pk=first.pk).values_list(*sealing.COLUMNS).get()
        )
    ).hexdigest()
    assert seal.hash == expected
    assert balances(user) == ("100.35", "100.35", "0.00")
    ledger_clean()


def test_the_csv_statement_ends_each_line_with_its_seal(alice, user, ledger_clean):
    first = fund(user, "40.10")
    seal = seal_ledger(settle=NOW)
    second = fund(user, "9.90")

    response = alice.get("/api/wallet/statement.csv")

    rows = list(csv.reader(io.StringIO(streamed_text(response))))
    assert rows[0][-3:] == ["memo", "seal_id", "seal_hash"]
    assert [(row[1], row[4], row[6], row[-2], row[-1]) for row in rows[1:]] == [
        (str(first.pk), "40.10", "40.10", str(seal.pk), seal.hash),
        (str(second.pk), "9.90", "50.00", "", ""),
    ]
    assert LedgerSeal.objects.count() == 1
    ledger_clean()
