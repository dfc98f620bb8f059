"""Builders for the benchmark's data, through the services the app itself runs (never
the models behind their back): people, funded buyers, groups of four, conversations and
proposals brought to the status a measurement starts from.

Import after `bench.boot.django()`."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from djmoney.money import Money

from escrow.services import new_key, wallet_deposit
from marketplace.core.api_tokens import token_issue
from marketplace.core.models import Conversation, Group
from marketplace.core.services import (
    conversation_open,
    group_create,
    group_member_add,
    message_send,
)
from proposals import services
from proposals.models import Proposal

PRICE = Decimal("100.00")
MEMBERS_BESIDES_LEADER = 3  # a 4-member split


def usd(amount) -> Money:
    return Money(Decimal(str(amount)), "USD")


def person(username: str):
    """A user who signs in with tokens only (no password hashing to pay for)."""
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@bench.invalid"}
    )
    return user


def fund(user, amount) -> None:
    wallet_deposit(user=user, amount=usd(amount), idempotency_key=new_key())


def token(user) -> str:
    with transaction.atomic():
        return token_issue(user)


def session_cookie(user) -> str:
    """A signed-in session's id, for the pages."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def groups_of(leader, *, tag: str, count: int, members: int = MEMBERS_BESIDES_LEADER) -> list:
    """`count` groups led by `leader`, each with the same `members` more people (made on
    first call, found again after)."""
    groups = list(Group.objects.filter(leader=leader).order_by("pk"))
    people = [person(f"{tag}-m{index}") for index in range(members)]
    for number in range(len(groups), count):
        group = group_create(
            leader=leader,
            name=f"{tag} group {number}",
            description="Benchmark group: web shops, apps and data work.",
            skills=["django", "design"],
        )
        for member in people:
            group_member_add(group=group, actor=leader, user=member)
        groups.append(group)
    return groups[:count]


def conversations(buyer, groups) -> list[Conversation]:
    return [conversation_open(buyer=buyer, group=group)[0] for group in groups]


def propose(conversation: Conversation, leader) -> Proposal:
    return services.proposal_create(
        conversation=conversation,
        actor=leader,
        title="Benchmark work",
        description="Build it.",
        price=usd(PRICE),
    )


def deliver(proposal: Proposal, leader) -> Proposal:
    proposal = services.proposal_start(proposal=proposal, actor=leader)
    return services.proposal_deliver(proposal=proposal, actor=leader)


def chat_history(conversation: Conversation, sender, count: int) -> None:
    for number in range(count):
        message_send(conversation=conversation, sender=sender, body=f"Message {number}")


def proposals_in(ids, status: str) -> list[Proposal]:
    return list(Proposal.objects.filter(pk__in=list(ids), status=status).order_by("pk"))
