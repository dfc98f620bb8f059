"""Where the sealed ledger shows: the wallet page, `/metrics`, the worker's loop and the
admin."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from escrow import sealing
from escrow.models import EscrowTransaction, LedgerSeal
from escrow.sealing import seal_ledger
from proposals.management.commands.auto_release import Command as AutoRelease
from tests.factories import staff_user
from tests.ops.prometheus import TOKEN, scrape

pytestmark = pytest.mark.django_db


def test_the_wallet_page_marks_sealed_lines_and_shows_the_latest_hash(client, funded_buyer):
    client.force_login(funded_buyer)
    assert b"data-sealed" not in client.get("/wallet/").content

    seal = seal_ledger(settle=timedelta(0))
    entry = EscrowTransaction.objects.get()
    page = client.get("/wallet/").content.decode()

    assert page.count("data-sealed") == 1
    assert f'title="Seal #{seal.pk}: {seal.hash}">sealed</span>' in page
    assert f"<code data-seal-hash>{seal.hash}</code>" in page
    assert f"sealed through transaction #{entry.pk}" in page


def test_metrics_expose_the_unsealed_backlog_and_its_age(client, funded_buyer, settings):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    assert before.value("marketplace_ledger_unsealed_transactions") == 1
    assert before.value("marketplace_ledger_oldest_unsealed_age_seconds") > 0

    seal_ledger(settle=timedelta(0))

    after = scrape(client)
    assert after.value("marketplace_ledger_unsealed_transactions") == 0
    assert after.value("marketplace_ledger_oldest_unsealed_age_seconds") == 0


def test_the_worker_loop_seals_the_ledger_each_pass(funded_buyer, monkeypatch):
    monkeypatch.setattr(sealing, "SETTLE", timedelta(0))
    # One pass, then the sleep is where SIGTERM would land.
    monkeypatch.setattr(AutoRelease, "_sleep", lambda self, seconds: setattr(self, "_stopping", 1))

    call_command("auto_release", loop=True)

    seal = LedgerSeal.objects.get()
    assert seal.sealed_through_id == EscrowTransaction.objects.get().pk


def test_seal_ledger_command_reports_what_it_sealed(funded_buyer, monkeypatch, capsys):
    call_command("seal_ledger")
    assert "nothing to seal" in capsys.readouterr().out  # the deposit is seconds old

    monkeypatch.setattr(sealing, "SETTLE", timedelta(0))
    call_command("seal_ledger")
    seal = LedgerSeal.objects.get()
    assert (
        f"seal #{seal.pk} sealed 1 transaction(s) through #{seal.sealed_through_id}: {seal.hash}"
        in capsys.readouterr().out
    )


def test_staff_see_the_seals_in_the_admin_and_cannot_change_them(client, funded_buyer):
    seal = seal_ledger(settle=timedelta(0))
    client.force_login(staff_user("auditor"))

    listing = client.get("/admin/escrow/ledgerseal/")
    assert listing.status_code == 200
    assert seal.hash in listing.content.decode()
    assert client.get("/admin/escrow/ledgerseal/add/").status_code == 403
    assert client.get(f"/admin/escrow/ledgerseal/{seal.pk}/delete/").status_code == 403
