"""One JSON line per money operation (operation, amounts, actor, outcome), refusals too,
through `marketplace.logging.JsonFormatter`."""

import io
import json
import logging

import pytest
from django.db import transaction

from escrow import metrics
from escrow.errors import InsufficientFunds
from escrow.models import Wallet
from escrow.services import new_key, wallet_adjust, wallet_withdraw
from marketplace.logging import JsonFormatter
from proposals import services
from tests.proposals.factories import bring_to, make_team, usd


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("escrow.operations")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.mark.django_db
def test_one_json_line_per_money_operation(json_lines, finance, django_capture_on_commit_callbacks):
    # Success is logged once the transaction commits; a refusal when it is refused.
    with django_capture_on_commit_callbacks(execute=True):
        team = make_team(members=1, deposit="1500.00")
        proposal = bring_to(team, "delivered", price="100.00")
        services.proposal_confirm(proposal=proposal, actor=team.buyer)
    with pytest.raises(InsufficientFunds):
        wallet_withdraw(user=team.buyer, amount=usd("2000.00"), idempotency_key="w-1")
    with django_capture_on_commit_callbacks(execute=True):
        wallet_adjust(
            wallet=Wallet.objects.get(user=team.buyer),
            amount=usd("-1.00"),
            reason="Fee.",
            actor=finance,
            idempotency_key="a-1",
        )

    lines = json_lines()

    summary = [
        (line["operation"], line["outcome"], line.get("code"), line["actor_id"], line["amounts"])
        for line in lines
    ]
    assert summary == [
        ("wallet.deposit", "ok", None, team.buyer.pk, {"deposit": "1500.00"}),
        ("escrow.lock", "ok", None, team.buyer.pk, {"escrow_lock": "100.00"}),
        (
            "escrow.release",
            "ok",
            None,
            team.buyer.pk,
            {"platform_fee": "10.00", "leader_commission": "3.00", "member_share": "87.00"},
        ),
        (
            "wallet.withdraw",
            "refused",
            "insufficient_funds",
            team.buyer.pk,
            {"requested": "2000.00"},
        ),
        ("wallet.adjust", "ok", None, finance.pk, {"adjustment": "1.00"}),
    ]
    for line in lines:
        assert line["logger"] == "escrow.operations" and line["level"] == "INFO"
        assert line["currency"] == "USD"
        assert line["time"].endswith("+00:00")
    assert (
        lines[2]["idempotency_key"] == f"release/h{proposal.escrow_hold_id}/proposal:{proposal.pk}"
    )
    assert lines[4]["direction"] == "debit" and lines[4]["reason"] == "Fee."
    assert new_key()


@pytest.mark.django_db
def test_an_operation_its_caller_rolls_back_logs_no_success(
    json_lines, django_capture_on_commit_callbacks
):
    team = make_team(members=1, deposit="100.00")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        wallet_withdraw(user=team.buyer, amount=usd("40.00"), idempotency_key="w-rolled-back")
        raise RuntimeError("the caller fails after the money service returned")

    assert json_lines() == []
    assert Wallet.objects.get(user=team.buyer).available_balance == usd("100.00")
    assert metrics.operation_totals()["ok"] == 0
