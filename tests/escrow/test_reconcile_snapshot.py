"""Reconcile reads one snapshot (issue 10, item 9): with money moving in other threads
the whole time, it never reports a problem that is not there.

Without a snapshot each of its queries sees the database at a different moment: a
deposit committed between "sum the ledger" and "read the wallets" shows up as "stored
100.00, ledger says 90.00". On PostgreSQL `find_problems` now reads everything (the
registered checks too) in one REPEATABLE READ, READ ONLY transaction."""

import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from escrow import reconcile, services
from escrow.money import Rates
from marketplace.core.errors import DomainError
from tests.concurrency import run_together
from tests.factories import GroupFactory, UserFactory

from .conftest import usd

STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))
AMOUNTS = ["0.01", "0.07", "0.10", "0.20", "0.30", "12.34", "765.43", "1234.57"]


def snapshot_probe(seen: list):
    """A registered check that records the transaction it runs in."""

    def probe() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('transaction_isolation'), "
                "current_setting('transaction_read_only'), txid_current_if_assigned()"
            )
            seen.append((connection.in_atomic_block, *cursor.fetchone()))
        return []

    return probe


@pytest.mark.django_db
def test_inside_a_transaction_it_reads_what_that_transaction_sees(monkeypatch):
    seen = []
    monkeypatch.setattr(reconcile, "_extra_checks", [snapshot_probe(seen)])
    assert reconcile.find_problems() == []
    assert seen == [(True, "read committed", "off", None)]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_opens_a_read_only_repeatable_read_one(monkeypatch):
    seen = []
    monkeypatch.setattr(
        reconcile, "_extra_checks", [*reconcile._extra_checks, snapshot_probe(seen)]
    )
    assert not connection.in_atomic_block
    assert reconcile.find_problems() == []
    # The registered check ran inside the same snapshot; nothing was written in it.
    assert seen == [(True, "repeatable read", "on", None)]
    assert not connection.in_atomic_block


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_reconcile_under_live_writes_never_reports_a_phantom_problem(monkeypatch):
    buyers = [UserFactory() for _ in range(3)]
    members = [UserFactory() for _ in range(2)]
    group = GroupFactory(members=members)
    payees = {"leader": group.leader, "members": [group.leader, *members], "rates": STANDARD}
    for buyer in buyers:
        services.wallet_deposit(user=buyer, amount=usd("5000.00"), idempotency_key=f"f{buyer.pk}")
    seen = []
    monkeypatch.setattr(
        reconcile, "_extra_checks", [*reconcile._extra_checks, snapshot_probe(seen)]
    )

    stop = threading.Event()
    moves = {"ok": 0, "refused": 0}
    lock = threading.Lock()

    def writer(seed: int, buyer):
        """Move money continuously: deposits, withdrawals, transfers into escrow and out
        of it again (refund or release), each its own transaction."""

        def run():
            rng = random.Random(seed)
            step = 0
            while not stop.is_set():
                step += 1
                key = f"w{seed}-{step}"
                amount = usd(rng.choice(AMOUNTS))
                try:
                    choice = rng.random()
                    if choice < 0.3:
                        services.wallet_deposit(user=buyer, amount=amount, idempotency_key=key)
                    elif choice < 0.5:
                        services.wallet_withdraw(user=buyer, amount=amount, idempotency_key=key)
                    else:
                        hold = services.escrow_lock(
                            buyer=buyer, group=group, amount=amount, idempotency_key=key
                        )
                        if choice < 0.75:
                            services.escrow_refund(hold=hold, idempotency_key=f"{key}-r")
                        else:
                            services.escrow_release(hold=hold, idempotency_key=f"{key}-p", **payees)
                    outcome = "ok"
                except DomainError:
                    outcome = "refused"
                with lock:
                    moves[outcome] += 1
            return step

        return run

    def reconciler():
        reports = []
        try:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and len(reports) < 40:
                reports.append(reconcile.find_problems())
        finally:
            stop.set()
        return reports

    outcomes = run_together(
        writer(1, buyers[0]), writer(2, buyers[1]), writer(3, buyers[2]), reconciler, timeout=90
    )

    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    reports = outcomes[-1]
    assert len(reports) >= 5
    assert moves["ok"] > 50, moves  # money really moved while reconcile ran
    phantoms = [problem for report in reports for problem in report]
    assert phantoms == [], f"{len(phantoms)} phantom problem(s), e.g. {phantoms[:3]}"
    assert all(probe[:3] == (True, "repeatable read", "on") for probe in seen), seen[:3]
    assert reconcile.find_problems() == []
