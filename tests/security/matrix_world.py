"""The world the authorization matrix asks about: one user per role and, for the same
leader, member and former member, one deal in every state an endpoint acts on, so each
cell differs from its neighbours only by who asks.

The roles (CONTRACT.md, README "Staff roles"): anonymous; a stranger (signed in, unrelated);
the buyer; the group's leader; a member; a former member (took part, then left the
group); plain staff (`is_staff`, no role); finance; support."""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.test import override_settings
from djmoney.money import Money

from disputes.services import dispute_open
from escrow.models import Wallet
from escrow.sealing import seal_ledger
from escrow.services import new_key, wallet_deposit
from legacy.services import project_create
from marketplace.core.services import group_leave
from proposals import services as proposal_services
from proposals.models import Proposal
from tests.conftest import issue_token
from tests.factories import ConversationFactory, GroupFactory, UserFactory, staff_user

ROLES = (
    "anonymous",
    "stranger",
    "buyer",
    "leader",
    "member",
    "former",
    "staff",
    "finance",
    "support",
)
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as tests/conftest.py
S = Proposal.Status


@dataclass
class World:
    users: dict  # role -> user (no "anonymous")
    tokens: dict = field(default_factory=dict)  # role -> API token key
    ids: dict = field(default_factory=dict)  # name -> primary key, for the URL templates


def _deal(world: World, name: str, status: str | None):
    """A group of the leader, the member and the former member, the buyer's conversation
    with it and, unless `status` is None, a proposal brought to `status` (the former
    member accepted as a participant, then gone)."""
    users = world.users
    group = GroupFactory(
        name=f"Matrix {name}", leader=users["leader"], members=[users["member"], users["former"]]
    )
    conversation = ConversationFactory(product_owner=users["buyer"], group=group)
    world.ids[f"{name}_group"] = group.pk
    world.ids[f"{name}_conversation"] = conversation.pk
    if status is None:
        group_leave(group=group, user=users["former"])
        return None
    leader, buyer = users["leader"], users["buyer"]
    proposal = proposal_services.proposal_create(
        conversation=conversation,
        actor=leader,
        title=f"Deal {name}",
        description="",
        price=Money("100.00", "USD"),
    )
    if status != S.PENDING:
        proposal = proposal_services.proposal_accept(proposal=proposal, actor=buyer)
    if status in (S.IN_PROGRESS, S.DELIVERED, S.DISPUTED):
        proposal = proposal_services.proposal_start(proposal=proposal, actor=leader)
    if status in (S.DELIVERED, S.DISPUTED):
        proposal = proposal_services.proposal_deliver(proposal=proposal, actor=leader)
    if status == S.DISPUTED:
        dispute = dispute_open(proposal=proposal, actor=buyer, reason="Not what we agreed.")
        world.ids["dispute"] = dispute.pk
    group_leave(group=group, user=users["former"])
    world.ids[name] = proposal.pk
    return proposal


def build_world() -> World:
    world = World(
        users={
            "stranger": UserFactory(username="m_stranger"),
            "buyer": UserFactory(username="m_buyer"),
            "leader": UserFactory(username="m_leader"),
            "member": UserFactory(username="m_member"),
            "former": UserFactory(username="m_former"),
            "staff": staff_user("m_staff"),
            "finance": staff_user("m_finance", "finance"),
            "support": staff_user("m_support", "support"),
        }
    )
    users = world.users
    wallet_deposit(user=users["buyer"], amount=Money("1000.00", "USD"), idempotency_key=new_key())
    seal_ledger(settle=timedelta(0))  # a seal for `GET /api/ledger/seal`

    _deal(world, "idle", None)  # a conversation without a proposal, a group without history
    _deal(world, "pending", S.PENDING)
    _deal(world, "accepted", S.ACCEPTED)
    in_progress = _deal(world, "in_progress", S.IN_PROGRESS)
    _deal(world, "delivered", S.DELIVERED)
    _deal(world, "disputed", S.DISPUTED)
    task = proposal_services.task_create(
        proposal=in_progress, actor=users["leader"], title="Design", assigned_to=users["member"]
    )
    world.ids["task"] = task.pk
    project = project_create(
        owner=users["buyer"], title="Old site", description="", budget=Money("300.00", "USD")
    )
    world.ids["project"] = project.pk
    UserFactory(username="m_newcomer")  # whom the leader adds to a group
    world.ids["member_user"] = users["member"].pk
    world.ids["buyer_wallet"] = Wallet.objects.get(user=users["buyer"], kind=Wallet.Kind.USER).pk
    world.tokens = {role: issue_token(user) for role, user in users.items()}
    return world


@contextmanager
def world_rolled_back(django_db_blocker):
    """The world, built inside a transaction that is rolled back on exit: for a
    module-scoped fixture whose tests each run in a savepoint of it (pytest-django's `db`),
    so that what one test changes is gone for the next and nothing outlives the module."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
