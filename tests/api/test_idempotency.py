"""The Idempotency-Key header on money POSTs (deposit and withdraw)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from escrow.models import EscrowTransaction
from marketplace.core.idempotency import purge_expired
from marketplace.core.models import IdempotencyRecord
from tests.concurrency import run_together
from tests.conftest import token_client
from tests.factories import UserFactory

from .conftest import balances, entry_count, fund


def post(client, url, body, key):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
class TestReplay:
    def test_a_retried_deposit_replays_the_first_response_with_one_effect(
        self, alice, user, ledger_clean
    ):
        first = post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "key-1")
        second = post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "key-1")

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert entry_count(kind="deposit") == 1
        assert balances(user) == ("25.00", "25.00", "0.00")
        ledger_clean()

    def test_the_ledger_files_the_client_key_under_the_operation_and_wallet(self, alice, user):
        post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "key-1")

        entry = EscrowTransaction.objects.get()
        assert entry.idempotency_key == f"deposit/w{entry.to_wallet_id}/key-1"
        assert entry.to_wallet.user == user

    def test_without_a_key_every_request_runs(self, alice, user, ledger_clean):
        for _ in range(2):
            assert alice.post("/api/wallet/deposit", {"amount": "25.00"}).status_code == 201

        assert entry_count(kind="deposit") == 2
        assert len(set(EscrowTransaction.objects.values_list("idempotency_key", flat=True))) == 2
        assert balances(user) == ("50.00", "50.00", "0.00")
        assert not IdempotencyRecord.objects.exists()
        ledger_clean()

    def test_a_retried_withdrawal_replays(self, alice, user, ledger_clean):
        fund(user, "100.00")

        first = post(alice, "/api/wallet/withdraw", {"amount": "30.00"}, "w-1")
        second = post(alice, "/api/wallet/withdraw/", {"amount": "30.00"}, "w-1")

        assert second.status_code == 201
        assert second.json() == first.json()
        assert entry_count(kind="withdrawal") == 1
        assert balances(user) == ("70.00", "70.00", "0.00")
        ledger_clean()

    def test_the_same_key_with_another_body_is_409_and_runs_nothing(self, alice, user):
        post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "key-1")

        response = post(alice, "/api/wallet/deposit", {"amount": "26.00"}, "key-1")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert entry_count(kind="deposit") == 1
        assert balances(user) == ("25.00", "25.00", "0.00")

    def test_the_same_key_on_another_endpoint_is_409(self, alice, user):
        post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "key-1")

        response = post(alice, "/api/wallet/withdraw", {"amount": "25.00"}, "key-1")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert balances(user) == ("25.00", "25.00", "0.00")

    def test_keys_belong_to_one_user(self, alice, user, ledger_clean):
        bob = UserFactory()

        post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "shared")
        other = post(token_client(bob), "/api/wallet/deposit", {"amount": "25.00"}, "shared")

        assert other.status_code == 201
        assert "Idempotent-Replayed" not in other
        assert balances(user) == ("25.00", "25.00", "0.00")
        assert balances(bob) == ("25.00", "25.00", "0.00")
        ledger_clean()

    def test_a_refused_request_is_not_stored_and_may_be_retried(self, alice, user, ledger_clean):
        refused = post(alice, "/api/wallet/withdraw", {"amount": "30.00"}, "w-1")
        assert refused.status_code == 409
        assert not IdempotencyRecord.objects.exists()

        fund(user, "100.00")
        retried = post(alice, "/api/wallet/withdraw", {"amount": "30.00"}, "w-1")

        assert retried.status_code == 201
        assert balances(user) == ("70.00", "70.00", "0.00")
        ledger_clean()

    def test_an_invalid_body_is_not_stored(self, alice, user):
        assert post(alice, "/api/wallet/deposit", {"amount": "1.001"}, "k").status_code == 400

        assert post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "k").status_code == 201
        assert balances(user) == ("1.00", "1.00", "0.00")

    @pytest.mark.parametrize("key", ["x" * 101, "with space", "naïve", ""])
    def test_a_malformed_key_is_400(self, alice, user, key):
        response = post(alice, "/api/wallet/deposit", {"amount": "1.00"}, key)

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_idempotency_key"
        assert not EscrowTransaction.objects.exists()

    def test_a_100_character_key_is_fine(self, alice, user):
        assert post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "k" * 100).status_code == 201

    def test_after_24_hours_the_record_expires_but_the_ledger_still_posts_once(
        self, alice, user, ledger_clean
    ):
        first = post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "old")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

        again = post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "old")

        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again
        assert again.json()["transaction"]["id"] == first.json()["transaction"]["id"]
        assert entry_count(kind="deposit") == 1
        assert balances(user) == ("25.00", "25.00", "0.00")
        assert IdempotencyRecord.objects.count() == 1
        ledger_clean()

    def test_an_expired_key_reused_for_another_amount_is_refused_by_the_ledger(self, alice, user):
        post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "old")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

        response = post(alice, "/api/wallet/deposit", {"amount": "30.00"}, "old")

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert balances(user) == ("25.00", "25.00", "0.00")

    def test_within_24_hours_the_record_replays(self, alice, user):
        post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "recent")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23))

        response = post(alice, "/api/wallet/deposit", {"amount": "25.00"}, "recent")

        assert response["Idempotent-Replayed"] == "true"

    def test_purge_expired_deletes_only_old_records(self, alice, user):
        post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "old")
        post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "new")
        IdempotencyRecord.objects.filter(key="old").update(
            created_at=timezone.now() - timedelta(hours=25)
        )

        assert purge_expired() == 1
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]

    def test_the_record_stores_status_body_and_fingerprint(self, alice, user):
        response = post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "k")

        record = IdempotencyRecord.objects.get()
        assert (record.user, record.key, record.response_status) == (user, "k", 201)
        assert json.loads(record.response_body) == response.json()
        assert len(record.fingerprint) == 64


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
class TestConcurrency:
    def test_two_concurrent_deposits_with_one_key_post_once(self, ledger_clean):
        user = UserFactory()
        clients = [token_client(user), token_client(user)]

        responses = run_together(
            *[
                lambda client=client: post(
                    client, "/api/wallet/deposit", {"amount": "40.00"}, "same"
                )
                for client in clients
            ]
        )

        assert [r.status_code for r in responses] == [201, 201]
        # The replay is the first answer byte for byte: same body, keys in the same order.
        assert responses[0].content == responses[1].content
        assert responses[0]["Content-Type"] == responses[1]["Content-Type"]
        assert sorted(r.get("Idempotent-Replayed", "no") for r in responses) == ["no", "true"]
        assert entry_count(kind="deposit") == 1
        assert balances(user) == ("40.00", "40.00", "0.00")
        ledger_clean()

    def test_concurrent_withdrawals_with_one_key_take_the_money_once(self, ledger_clean):
        user = UserFactory()
        fund(user, "100.00")
        clients = [token_client(user) for _ in range(4)]

        responses = run_together(
            *[
                lambda client=client: post(client, "/api/wallet/withdraw", {"amount": "60.00"}, "w")
                for client in clients
            ]
        )

        assert [r.status_code for r in responses] == [201] * 4
        assert len({r.content for r in responses}) == 1
        assert entry_count(kind="withdrawal") == 1
        assert balances(user) == ("40.00", "40.00", "0.00")
        ledger_clean()

    def test_concurrent_requests_with_one_key_and_different_bodies(self, ledger_clean):
        user = UserFactory()
        clients = [token_client(user), token_client(user)]

        responses = run_together(
            *[
                lambda client=client, amount=amount: post(
                    client, "/api/wallet/deposit", {"amount": amount}, "same"
                )
                for client, amount in zip(clients, ["10.00", "20.00"], strict=True)
            ]
        )

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409]
        winner = next(r for r in responses if r.status_code == 201)
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["error"]["code"] == "idempotency_key_reused"
        amount = winner.json()["transaction"]["amount"]
        assert balances(user) == (amount, amount, "0.00")
        assert entry_count(kind="deposit") == 1
        ledger_clean()


def test_the_purge_command_deletes_expired_records(alice, capsys):
    from django.core.management import call_command

    post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "old")
    post(alice, "/api/wallet/deposit", {"amount": "1.00"}, "new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    call_command("purge_idempotency_records")
    assert capsys.readouterr().out.strip() == "Deleted 1 expired idempotency record(s)."
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
