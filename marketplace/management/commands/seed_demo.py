"""Demo data for `make run`: users, two groups, funded buyer wallets, a conversation and
the old system's projects. Idempotent: every row is found by a natural key, and money
goes in only through `escrow.services` under fixed idempotency keys, so a second run
changes nothing.

Each part is one small function in `STEPS`; a later part (proposals, disputes) is
appended there and reads what the earlier ones made from `demo`.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from djmoney.money import Money

from escrow.services import wallet_deposit, wallet_for_user
from legacy.models import Order, Project
from marketplace.models import Group, GroupMembership
from marketplace.services import (
    conversation_open,
    group_create,
    group_member_add,
    message_create,
)

ADMIN = ("admin", "admin-demo-pass")
DEMO_PASSWORD = "demo-pass-123"
BUYERS = ("alice", "bob")
GROUPS = (
    {
        "name": "Pixel Crafters",
        "description": "Brand, web and product design from sketch to pixel-perfect build.",
        "skills": ["design", "figma", "frontend"],
        "leader": "lena",
        "members": ("max", "mia"),
    },
    {
        "name": "Data Wranglers",
        "description": "Data pipelines, dashboards and the Python that glues them together.",
        "skills": ["python", "django", "data"],
        "leader": "omar",
        "members": ("nina",),
    },
)
DEPOSITS = {"alice": Decimal("5000.00"), "bob": Decimal("2500.00")}
CHAT = (
    ("alice", "Hi! We need a new landing page for our bakery. Can you help?"),
    ("lena", "Happy to. Do you have a brand guide, or should we start from scratch?"),
    ("alice", "We have a logo and colours, nothing more. Budget is around 1,200 USD."),
    ("lena", "That works. I'll send a proposal with a two-week timeline."),
)


@dataclass
class Demo:
    """What the steps made, by name, for the steps after them."""

    users: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    conversations: dict = field(default_factory=dict)


def _user(username: str, password: str, **extra):
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com", **extra}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def seed_users(demo: Demo) -> None:
    demo.users["admin"] = _user(*ADMIN, is_staff=True, is_superuser=True)
    names = [*BUYERS]
    for group in GROUPS:
        names += [group["leader"], *group["members"]]
    for name in names:
        demo.users[name] = _user(name, DEMO_PASSWORD)


@transaction.atomic
def seed_groups(demo: Demo) -> None:
    for spec in GROUPS:
        leader = demo.users[spec["leader"]]
        group = Group.objects.filter(name=spec["name"]).order_by("pk").first()
        if group is None:
            group = group_create(
                leader=leader,
                name=spec["name"],
                description=spec["description"],
                skills=spec["skills"],
            )
        # Members join in order: the order of joining decides who gets the leftover cents
        # of a member pool.
        for name in spec["members"]:
            user = demo.users[name]
            if not GroupMembership.objects.filter(group=group, user=user).exists():
                group_member_add(group=group, actor=leader, user=user)
        demo.groups[spec["name"]] = group


def seed_wallets(demo: Demo) -> None:
    """A wallet for everyone; sandbox deposits for the buyers, under fixed keys."""
    for user in demo.users.values():
        wallet_for_user(user=user)
    for name, amount in DEPOSITS.items():
        wallet_deposit(
            user=demo.users[name],
            amount=Money(amount, "USD"),
            idempotency_key=f"seed-demo:deposit:{name}",
        )


@transaction.atomic
def seed_conversations(demo: Demo) -> None:
    alice, group = demo.users["alice"], demo.groups["Pixel Crafters"]
    conversation, _ = conversation_open(buyer=alice, group=group)
    demo.conversations["alice-pixel"] = conversation
    if conversation.messages.exists():
        return
    for sender, body in CHAT:
        message_create(conversation=conversation, sender=demo.users[sender], body=body)


@transaction.atomic
def seed_legacy(demo: Demo) -> None:
    """Two projects and an order as the old system made them."""
    bob = demo.users["bob"]
    website, _ = Project.objects.get_or_create(
        owner=bob,
        title="Company website redesign",
        defaults={
            "description": "Refresh of our five-page company site.",
            "budget": Money("1200.00", "USD"),
        },
    )
    Project.objects.get_or_create(
        owner=demo.users["alice"],
        title="Inventory spreadsheet cleanup",
        defaults={
            "description": "Merge three spreadsheets into one.",
            "budget": Money("300.00", "USD"),
        },
    )
    Order.objects.get_or_create(
        project=website, buyer=bob, defaults={"amount": Money("1200.00", "USD")}
    )


STEPS = [seed_users, seed_groups, seed_wallets, seed_conversations, seed_legacy]


class Command(BaseCommand):
    help = (
        "Create the demo data (idempotent: running it again changes nothing) and print the logins."
    )

    def handle(self, *args, **options):
        if not settings.PAYMENTS_SANDBOX:
            raise CommandError(
                "seed_demo funds the buyers through the sandbox payment provider: "
                "set PAYMENTS_SANDBOX=1 (on by default with DEBUG=1)."
            )
        demo = Demo()
        for step in STEPS:
            step(demo)
        self._print_logins()

    def _print_logins(self) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS("Demo data ready."))
        out.write("Open http://127.0.0.1:8000/ (admin: /admin/, API docs: /api/docs/)")
        out.write(f"  staff:   {ADMIN[0]} / {ADMIN[1]}")
        out.write(f"  buyers:  {', '.join(BUYERS)} / {DEMO_PASSWORD}")
        for spec in GROUPS:
            members = ", ".join(spec["members"])
            out.write(
                f"  {spec['name']}: leader {spec['leader']}, members {members} / {DEMO_PASSWORD}"
            )
