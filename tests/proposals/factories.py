"""Builders for the proposal workflow's tests: a funded buyer, a group with members in a
known order of joining, proposals brought to a given status through the real services,
and exact readings of every balance the money tests assert."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from djmoney.money import Money

from escrow.models import EscrowTransaction, GroupWallet, Wallet
from escrow.reconcile import ledger_balances
from escrow.services import new_key, wallet_deposit
from marketplace.core.models import Conversation, GroupMembership
from proposals import services
from proposals.models import Proposal, Task
from tests.concurrency import run_together
from tests.factories import ConversationFactory, GroupFactory, UserFactory


def usd(amount) -> Money:
    return Money(Decimal(str(amount)), "USD")


def fund(user, amount) -> None:
    """Deposit through the sandbox payment provider, as a buyer would."""
    wallet_deposit(user=user, amount=usd(amount), idempotency_key=new_key())


@dataclass
class Team:
    buyer: object
    leader: object
    members: list  # besides the leader, in order of joining
    group: object
    conversation: Conversation
    people: dict = field(default_factory=dict)  # name -> user, for balance readings


def make_team(*, members: int = 2, deposit="1500.00", joined_order=None) -> Team:
    """A buyer with `deposit` available and a group: the leader, who joined first, and
    `members` more. `joined_order` (names such as ["m2", "leader", "m1"]) rewrites the
    joining times so that the order of joining differs from the order of ids."""
    leader = UserFactory()
    others = [UserFactory() for _ in range(members)]
    group = GroupFactory(leader=leader, members=others)
    buyer = UserFactory()
    if deposit:
        fund(buyer, deposit)
    conversation = ConversationFactory(product_owner=buyer, group=group)
    people = {"buyer": buyer, "leader": leader}
    people.update({f"m{index}": member for index, member in enumerate(others, start=1)})
    if joined_order:
        start = timezone.now() - timedelta(days=30)
        for position, name in enumerate(joined_order):
            GroupMembership.objects.filter(group=group, user=people[name]).update(
                joined_at=start + timedelta(minutes=position)
            )
    return Team(buyer, leader, others, group, conversation, people)


def propose(team: Team, price="1000.00", title="Build the shop") -> Proposal:
    return services.proposal_create(
        conversation=team.conversation,
        actor=team.leader,
        title=title,
        description="All of it.",
        price=usd(price),
    )


def accept_with_tasks(team: Team, price: str, tasks) -> Proposal:
    """A task-points proposal of the leader's at `price`, accepted, with `tasks` as
    (title, assignee, points, done) added by the leader and the done ones finished."""
    proposal = services.proposal_create(
        conversation=team.conversation,
        actor=team.leader,
        title="Shop",
        price=usd(price),
        pool_split=Proposal.PoolSplit.TASK_POINTS,
    )
    proposal = services.proposal_accept(proposal=proposal, actor=team.buyer)
    for title, user, points, done in tasks:
        task = services.task_create(
            proposal=proposal, actor=team.leader, title=title, assigned_to=user, points=points
        )
        if done:
            services.task_update(task=task, actor=team.leader, status=Task.Status.DONE)
    return proposal


def bring_to(team: Team, status: str, price="1000.00") -> Proposal:
    """A proposal of `team` brought to `status` through the services."""
    proposal = propose(team, price)
    S = Proposal.Status
    if status == S.PENDING:
        return proposal
    if status == S.REJECTED:
        return services.proposal_reject(proposal=proposal, actor=team.buyer)
    if status == S.WITHDRAWN:
        return services.proposal_withdraw(proposal=proposal, actor=team.leader)
    proposal = services.proposal_accept(proposal=proposal, actor=team.buyer)
    if status == S.ACCEPTED:
        return proposal
    if status == S.CANCELLED:
        return services.proposal_cancel(proposal=proposal, actor=team.leader)
    proposal = services.proposal_start(proposal=proposal, actor=team.leader)
    if status == S.IN_PROGRESS:
        return proposal
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    if status == S.DELIVERED:
        return proposal
    if status == S.COMPLETED:
        return services.proposal_confirm(proposal=proposal, actor=team.buyer)
    if status == S.DISPUTED:
        from disputes.services import dispute_open

        dispute_open(proposal=proposal, actor=team.buyer, reason="Not what we agreed.")
        proposal.refresh_from_db()
        return proposal
    raise ValueError(status)


# --- exact readings -----------------------------------------------------------------


def user_money(user) -> tuple[Decimal, Decimal]:
    """(available, escrow) of the user's wallet; a user without a wallet has nothing."""
    wallet = Wallet.objects.filter(user=user).first()
    if wallet is None:
        return Decimal("0.00"), Decimal("0.00")
    return wallet.available_balance.amount, wallet.escrow_balance.amount


def group_money(group) -> tuple[Decimal, Decimal]:
    """(escrow_balance, total_escrow_received) of the group's wallet."""
    wallet = GroupWallet.objects.filter(group=group).first()
    if wallet is None:
        return Decimal("0.00"), Decimal("0.00")
    return wallet.escrow_balance.amount, wallet.total_escrow_received.amount


def platform_revenue(currency: str = "USD") -> Decimal:
    """The platform wallet's balance from the ledger (it caches none), checked against
    the sum of the platform_fee entries."""
    wallet = Wallet.objects.filter(kind=Wallet.Kind.PLATFORM, balance_currency=currency).first()
    balance = ledger_balances("wallet")[wallet.pk] if wallet else Decimal("0.00")
    fees = EscrowTransaction.objects.filter(
        kind=EscrowTransaction.Kind.PLATFORM_FEE, amount_currency=currency
    ).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    assert balance == fees
    return balance


def money_state(team: Team) -> dict:
    """Every balance the money tests assert, by name, as decimal strings."""
    state = {name: tuple(str(x) for x in user_money(user)) for name, user in team.people.items()}
    state["group"] = tuple(str(x) for x in group_money(team.group))
    state["platform"] = str(platform_revenue())
    return state


def expect(team: Team, **overrides) -> dict:
    """The state with nothing anywhere, then `overrides`: users as (available, escrow),
    `group` as (escrow, total received), `platform` as an amount."""
    state = {name: ("0.00", "0.00") for name in team.people}
    state["group"] = ("0.00", "0.00")
    state["platform"] = "0.00"
    state.update(overrides)
    return state


# --- concurrency --------------------------------------------------------------------


def race(*calls, timeout: float = 60):
    """`tests.concurrency.run_together`, each outcome as ("ok", result) or ("error",
    exception)."""
    return [
        ("error", outcome) if isinstance(outcome, Exception) else ("ok", outcome)
        for outcome in run_together(*calls, timeout=timeout)
    ]
