"""Idempotency keys cannot reach anybody else's money (issue 10, items 1, 6 and 7).

The ledger files every caller's key under the operation and the account it acts on, so a
key chosen by one user (a hidden form field, an API header) never names another user's
entries or the system's, and one key reused with another operation or body is refused or
runs on its own merits: never a replay of something else.
"""

from decimal import Decimal

import pytest

from escrow import services
from escrow.errors import EscrowNotHeld, IdempotencyKeyReused
from escrow.models import EscrowTransaction
from escrow.money import Rates
from proposals import services as proposal_services
from proposals.models import Proposal
from tests.concurrency import run_together
from tests.factories import GroupFactory, UserFactory
from tests.pages.conftest import csrf_post, flashes
from tests.proposals.factories import bring_to, expect, make_team, money_state

from .conftest import available, entry_count, escrow_of, usd

pytestmark = pytest.mark.django_db
STANDARD = Rates(platform_fee=Decimal("0.10"), leader_commission=Decimal("0.03"))
S = Proposal.Status


def guessable_keys(proposal) -> list[str]:
    """Every key a hostile user could guess for the system's entries of `proposal`, in
    the old format and in the ledger's own."""
    pk, hold = proposal.pk, proposal.escrow_hold_id
    return [
        f"proposal:{pk}",
        *(f"proposal:{pk}:{operation}" for operation in ("lock", "release", "refund", "settle")),
        *(f"{operation}/h{hold}/proposal:{pk}" for operation in ("release", "refund", "settle")),
    ]


@pytest.fixture
def hostile(client):
    """A signed-in stranger with a little money, using the wallet page."""
    user = UserFactory(username="mallory")
    services.wallet_deposit(user=user, amount=usd("1.00"), idempotency_key="mallory-fund")
    client.force_login(user)
    return user, client


def test_a_withdrawal_from_the_page_under_the_systems_keys_blocks_nobody(hostile, ledger_clean):
    team = make_team(members=2, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED, price="830.86")
    mallory, page = hostile

    for key in guessable_keys(proposal):
        response = csrf_post(
            page, "/wallet/withdraw/", {"withdraw-amount": "0.01", "withdraw-key": key}
        )
        assert flashes(response)[0].startswith("Your withdrawal of 0.01 USD is requested")

    proposal_services.proposal_confirm(proposal=proposal, actor=team.buyer)
    # 830.86: fee 83.09, commission 24.93, pool 722.84 -> 240.95, 240.95, 240.94
    assert money_state(team) == expect(
        team,
        buyer=("669.14", "0.00"),
        leader=("265.88", "0.00"),
        m1=("240.95", "0.00"),
        m2=("240.94", "0.00"),
        group=("0.00", "747.77"),
        platform="83.09",
    )
    assert available(mallory) == Decimal("0.92")  # eight withdrawals of 0.01
    ledger_clean()


def test_api_keys_equal_to_the_systems_block_no_refund(client_for, ledger_clean):
    team = make_team(members=1, deposit="1000.00")
    proposal = bring_to(team, S.ACCEPTED, price="765.43")
    mallory = UserFactory(username="mallory")
    services.wallet_deposit(user=mallory, amount=usd("5.00"), idempotency_key="fund")
    api = client_for(mallory)
    for key in guessable_keys(proposal):
        response = api.post(
            "/api/wallet/withdraw", {"amount": "0.01"}, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
        assert response.status_code == 201, response.json()

    proposal_services.proposal_cancel(proposal=proposal, actor=team.leader)
    assert money_state(team) == expect(team, buyer=("1000.00", "0.00"))
    ledger_clean()


def test_the_same_key_on_two_holds_posts_on_each(funded_buyer, group, members, ledger_clean):
    first = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("100.00"), idempotency_key="l1"
    )
    second = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("100.00"), idempotency_key="l2"
    )
    services.escrow_refund(hold=first, idempotency_key="k")
    services.escrow_refund(hold=second, idempotency_key="k")

    assert escrow_of(funded_buyer) == Decimal("0.00")
    assert available(funded_buyer) == Decimal("1500.00")
    ledger_clean()


@pytest.mark.parametrize("other", ["refund", "settle"])
def test_another_operation_under_a_release_key_is_never_a_replay(
    funded_buyer, group, members, ledger_clean, other
):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )
    payees = {"leader": group.leader, "members": [group.leader, *members], "rates": STANDARD}
    services.escrow_release(hold=hold, idempotency_key="same", **payees)
    count = entry_count()

    with pytest.raises(EscrowNotHeld):
        if other == "refund":
            services.escrow_refund(hold=hold, idempotency_key="same")
        else:
            services.escrow_settle(
                hold=hold, refund_amount=usd("100.00"), idempotency_key="same", **payees
            )
    assert entry_count() == count
    assert available(funded_buyer) == Decimal("500.00")
    ledger_clean()


def test_a_settle_replayed_with_another_refund_is_refused(funded_buyer, group, ledger_clean):
    hold = services.escrow_lock(
        buyer=funded_buyer, group=group, amount=usd("1000.00"), idempotency_key="l1"
    )
    payees = {"leader": group.leader, "members": [group.leader], "rates": STANDARD}
    services.escrow_settle(hold=hold, refund_amount=usd("250.00"), idempotency_key="s", **payees)
    with pytest.raises(IdempotencyKeyReused):
        services.escrow_settle(
            hold=hold, refund_amount=usd("300.00"), idempotency_key="s", **payees
        )
    assert available(funded_buyer) == Decimal("750.00")
    ledger_clean()


def test_a_lock_key_reused_for_another_group_is_refused(funded_buyer, group, ledger_clean):
    services.escrow_lock(buyer=funded_buyer, group=group, amount=usd("100.00"), idempotency_key="k")
    other = GroupFactory()
    with pytest.raises(IdempotencyKeyReused):
        services.escrow_lock(
            buyer=funded_buyer, group=other, amount=usd("100.00"), idempotency_key="k"
        )
    assert escrow_of(funded_buyer) == Decimal("100.00")
    ledger_clean()


def test_a_deposit_key_reused_for_another_amount_charges_nothing(buyer, charges, ledger_clean):
    services.wallet_deposit(user=buyer, amount=usd("10.00"), idempotency_key="d")
    services.wallet_deposit(user=buyer, amount=usd("10.00"), idempotency_key="d")  # a retry
    with pytest.raises(IdempotencyKeyReused):
        services.wallet_deposit(user=buyer, amount=usd("99.00"), idempotency_key="d")

    assert [amount for amount, _ in charges] == [usd("10.00")]
    assert available(buyer) == Decimal("10.00")
    ledger_clean()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_provider_is_charged_outside_any_transaction(charges, ledger_clean):
    buyer = UserFactory()
    services.wallet_deposit(user=buyer, amount=usd("12.34"), idempotency_key="d")
    assert charges == [(usd("12.34"), False)]
    ledger_clean()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_buyers_locking_concurrently_under_one_key_both_post(ledger_clean):
    group = GroupFactory()
    buyers = [UserFactory(), UserFactory()]
    for buyer in buyers:
        services.wallet_deposit(user=buyer, amount=usd("50.00"), idempotency_key="fund")

    outcomes = run_together(
        *(
            lambda buyer=buyer: services.escrow_lock(
                buyer=buyer, group=group, amount=usd("20.00"), idempotency_key="shared"
            )
            for buyer in buyers
        )
    )

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert [escrow_of(buyer) for buyer in buyers] == [Decimal("20.00")] * 2
    assert EscrowTransaction.objects.filter(kind="escrow_lock").count() == 2
    ledger_clean()
