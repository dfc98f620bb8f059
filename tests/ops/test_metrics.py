"""`/metrics` and the dashboard after a known sequence of operations; `/metrics` refused
to anonymous callers and non-staff users."""

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from disputes.services import dispute_resolve
from escrow.errors import InsufficientFunds
from escrow.services import new_key, wallet_withdraw
from proposals import services
from proposals.models import Proposal
from tests.factories import UserFactory, staff_user
from tests.ops.prometheus import TOKEN, Scrape, scrape
from tests.proposals.factories import bring_to, make_team, propose, usd

S = Proposal.Status


@pytest.fixture
def sequence(db, settings, django_capture_on_commit_callbacks):
    """1 deposit, 1 refused withdrawal, p1 accepted and confirmed (1 day from acceptance
    to completion), p2 rejected, p3 accepted, disputed and refunded by support. Each
    success is counted when its transaction commits (the callbacks run here)."""
    settings.METRICS_TOKEN = TOKEN
    with django_capture_on_commit_callbacks(execute=True):
        team = make_team(members=2)  # deposit 1500.00: ok
    with pytest.raises(InsufficientFunds):
        wallet_withdraw(user=team.buyer, amount=usd("5000.00"), idempotency_key=new_key())
    with django_capture_on_commit_callbacks(execute=True):
        p1 = bring_to(team, S.COMPLETED)  # lock + release: ok, ok
    now = timezone.now()
    Proposal.objects.filter(pk=p1.pk).update(
        accepted_at=now - timedelta(days=2), completed_at=now - timedelta(days=1)
    )
    p2 = propose(team, "300.00")
    services.proposal_reject(proposal=p2, actor=team.buyer)
    support = staff_user("desk", "support")
    with django_capture_on_commit_callbacks(execute=True):
        p3 = bring_to(team, S.DISPUTED, price="200.00")  # lock: ok
        dispute_resolve(dispute=p3.disputes.get(), actor=support, outcome="refund", note="Sorry.")
    return team


def test_metrics_figures_after_a_known_sequence(sequence, client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    metrics = Scrape(response.content.decode())
    operations = {
        (name, dict(labels).get("outcome")): value
        for (name, labels), value in metrics.samples.items()
        if name.startswith("marketplace_escrow_operation")
    }
    assert operations == {
        ("marketplace_escrow_operations_total", "ok"): 5,
        ("marketplace_escrow_operations_total", "refused"): 1,
        ("marketplace_escrow_operations_total", "error"): 0,
        ("marketplace_escrow_operations_30d", "ok"): 5,
        ("marketplace_escrow_operations_30d", "refused"): 1,
        ("marketplace_escrow_operations_30d", "error"): 0,
        ("marketplace_escrow_operations_failed_30d", None): 1,
        ("marketplace_escrow_operation_success_ratio_30d", None): 5 / 6,
    }
    assert metrics.families["marketplace_escrow_operations"].type == "counter"
    assert metrics.value("marketplace_ledger_balanced") == 1
    assert metrics.value("marketplace_ledger_problems") == 0
    assert metrics.labels_of("marketplace_escrow_locked") == []

    def money(name: str) -> Decimal:  # exact cents survive the float of the text format
        return Decimal(str(metrics.value(name, currency="USD")))

    assert money("marketplace_platform_fees_total") == Decimal("100.00")
    assert money("marketplace_platform_fees_30d") == Decimal("100.00")
    assert money("marketplace_funds_distributed_total") == Decimal("900.00")
    assert money("marketplace_funds_distributed_30d") == Decimal("900.00")
    assert money("marketplace_refunds_total") == Decimal("200.00")
    assert money("marketplace_refunds_30d") == Decimal("200.00")
    assert metrics.value("marketplace_refunds_count_total") == 1
    assert metrics.value("marketplace_proposals_created_total") == 3
    assert metrics.value("marketplace_proposals_created_per_day_30d") == 3 / 30
    assert metrics.value("marketplace_proposal_acceptance_ratio_30d") == 2 / 3
    assert metrics.value("marketplace_dispute_ratio_30d") == 0.5
    assert metrics.value("marketplace_proposal_completion_seconds_avg_30d") == 86400.0
    assert metrics.value("marketplace_disputes_opened_total") == 1
    assert metrics.value("marketplace_disputes_open") == 0


def test_a_rate_of_nothing_is_nan(db, client, settings):
    settings.METRICS_TOKEN = TOKEN
    metrics = scrape(client)
    assert math.isnan(metrics.value("marketplace_escrow_operation_success_ratio_30d"))
    assert math.isnan(metrics.value("marketplace_proposal_acceptance_ratio_30d"))
    assert metrics.value("marketplace_proposals_created_total") == 0


def test_escrow_locked_now(db, client, settings):
    settings.METRICS_TOKEN = TOKEN
    bring_to(make_team(), S.IN_PROGRESS, price="123.45")
    locked = scrape(client).value("marketplace_escrow_locked", currency="USD")
    assert Decimal(str(locked)) == Decimal("123.45")


def test_metrics_are_refused_without_staff_or_the_token(db, client, settings):
    settings.METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 403
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/metrics").status_code == 200


def test_no_token_configured_means_no_token_access(db, client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_the_dashboard_draws_its_charts_inline(sequence, client):
    client.force_login(UserFactory(username="viewer", is_staff=True))

    page = client.get("/admin/metrics/")

    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<svg") >= 7
    assert "83.3 %" in html  # success rate
    assert "66.7 %" in html  # acceptance
    assert "50.0 %" in html  # disputes
    assert "100.00 USD" in html and "900.00 USD" in html and "200.00 USD" in html
    assert "cdn" not in html.lower()
    client.logout()
    assert client.get("/admin/metrics/").status_code == 302  # to the admin login


def test_the_ledger_check_is_shared_by_scrapes_within_a_minute(db, client, settings):
    from django.core.cache import cache

    from escrow.models import Wallet

    settings.METRICS_TOKEN = TOKEN
    team = make_team()

    def ledger_ok() -> float:
        return scrape(client).value("marketplace_ledger_balanced")

    assert ledger_ok() == 1
    Wallet.objects.filter(user=team.buyer).update(
        available_balance=usd("1.00"), balance=usd("1.00")
    )
    assert ledger_ok() == 1  # the minute-old result
    cache.delete("metrics:ledger-problems")
    assert ledger_ok() == 0
