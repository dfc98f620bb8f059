"""The largest-remainder rule (`escrow.money.split_by_weight`) and a task-points pool paid
out by a dispute's split: every share to the cent, the pool always exact."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from djmoney.money import Money

from disputes.services import dispute_open
from escrow.models import EscrowTransaction
from escrow.money import Rates, distribute, split_by_weight, split_pool
from proposals.models import Proposal, Task
from proposals.services import proposal_resolve, task_create, task_update
from tests.factories import staff_user
from tests.proposals.factories import bring_to, expect, make_team, money_state, usd


def cents(shares: list[Money]) -> list[int]:
    return [int(share.amount * 100) for share in shares]


@pytest.mark.parametrize(
    ("pool", "weights", "expected"),
    [
        # 8700 * 2/8, 3/8, 3/8 = 2175, 3262.5, 3262.5: the tie goes to the earlier.
        ("87.00", [2, 3, 3], [2175, 3263, 3262]),
        # 8699 among 3, 1, 1: floors 5219, 1739, 1739, remainders 2, 4, 4; two cents left.
        ("86.99", [3, 1, 1], [5219, 1740, 1740]),
        # 8701 among 5, 2, 2: remainders 8, 5, 5; two cents: the largest, then the earlier tie.
        ("87.01", [5, 2, 2], [4834, 1934, 1933]),
        ("87.00", [0, 4, 0], [0, 8700, 0]),
        ("87.00", [0, 0, 0], [2900, 2900, 2900]),
        ("0.01", [1, 1, 1], [1, 0, 0]),
    ],
)
def test_split_by_weight(pool, weights, expected):
    shares = split_by_weight(Money(Decimal(pool), "USD"), weights)

    assert cents(shares) == expected
    assert sum(cents(shares)) == int(Decimal(pool) * 100)


def test_equal_split_is_the_same_rule_with_equal_weights():
    pool = Money(Decimal("100.01"), "USD")

    assert split_pool(pool, 3) == split_by_weight(pool, [7, 7, 7])
    assert cents(split_pool(pool, 3)) == [3334, 3334, 3333]


def test_distribute_checks_one_weight_per_member_and_no_negative_weight():
    rates = Rates(Decimal("0.10"), Decimal("0.03"))
    with pytest.raises(ValueError, match="One weight per member"):
        distribute(usd("100.00"), rates, leader="l", members=["a", "b"], weights=[1])
    with pytest.raises(ValueError, match="never negative"):
        split_by_weight(usd("1.00"), [1, -1])


@pytest.mark.django_db
def test_a_dispute_split_pays_the_released_part_by_points(ledger_clean):
    """Price 1000.00, 400.00 refunded: 600.00 released → fee 60.00, commission 18.00,
    pool 522.00 = 52200 cents by points leader 1, m1 0, m2 2 → 17400, 0, 34800."""
    team = make_team(members=2, deposit="1500.00")
    proposal = bring_to(team, Proposal.Status.ACCEPTED)
    Proposal.objects.filter(pk=proposal.pk).update(pool_split=Proposal.PoolSplit.TASK_POINTS)
    for assignee, points in ((team.leader, 1), (team.members[1], 2)):
        task = task_create(
            proposal=proposal, actor=team.leader, title="T", assigned_to=assignee, points=points
        )
        task_update(task=task, actor=team.leader, status=Task.Status.DONE)
    proposal = bring_disputed(team, proposal)

    proposal_resolve(
        proposal=proposal,
        actor=staff_user("desk", "support"),
        outcome="split",
        refund_amount=usd("400.00"),
    )

    assert money_state(team) == expect(
        team,
        buyer=("900.00", "0.00"),
        leader=("192.00", "0.00"),
        m2=("348.00", "0.00"),
        group=("0.00", "540.00"),
        platform="60.00",
    )
    ledger_clean()


def bring_disputed(team, proposal) -> Proposal:
    dispute_open(proposal=proposal, actor=team.buyer, reason="Half of it is missing.")
    proposal.refresh_from_db()
    return proposal


@pytest.mark.django_db
def test_seed_demo_pays_its_completed_task_points_deal_by_points(ledger_clean):
    """The demo's "Customer list cleanup", 300.00: pool 261.00 = 26100 cents by done points omar 3,
    nina 5 → 9787.5 and 16312.5: the tied leftover cent to omar, who joined first."""
    call_command("seed_demo", verbosity=0)

    done = Proposal.objects.get(title="Customer list cleanup")
    shares = EscrowTransaction.objects.filter(
        from_hold=done.escrow_hold, kind=EscrowTransaction.Kind.MEMBER_SHARE
    )
    paid = {entry.to_wallet.user.username: str(entry.amount.amount) for entry in shares}
    assert (done.status, done.pool_split) == (Proposal.Status.COMPLETED, "task_points")
    assert paid == {"omar": "97.88", "nina": "163.12"}
    going = Proposal.objects.get(title="Menu sales analytics")
    assert going.status == Proposal.Status.IN_PROGRESS
    assert sorted(going.tasks.values_list("points", "status")) == [
        (2, "todo"),
        (3, "in_progress"),
        (5, "done"),
    ]
    ledger_clean()
