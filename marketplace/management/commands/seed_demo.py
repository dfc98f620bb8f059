"""Demo data for `make run`: buyers, groups with leaders and members, funded wallets,
conversations with a little chat, proposals in every status (with tasks and disputes),
a staff user for each role and the old system's projects. Idempotent: every row is found
by a natural key before it is made, and everything that moves money or changes a status
goes through the services (money under fixed idempotency keys), so a second run changes
nothing.

Each part is one small function in `STEPS`; a later part reads what the earlier ones made
from `demo`. Each proposal follows the path of moves to its status in `PATHS`; a move runs
only while the proposal is in a status it applies to, so moves done by an earlier run are
skipped.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from importlib import import_module
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from djmoney.money import Money

from disputes.models import Dispute
from disputes.services import dispute_add_message, dispute_open, dispute_resolve
from escrow.sealing import seal_ledger
from escrow.services import wallet_deposit, wallet_get_or_open
from legacy.models import Order, Project
from legacy.services import project_continue
from marketplace.core.models import Group, GroupMembership
from marketplace.core.services import (
    conversation_open,
    group_create,
    group_member_add,
    message_send,
)
from proposals.models import Proposal, Task
from proposals.services import (
    TASKS_WRITABLE,
    proposal_accept,
    proposal_cancel,
    proposal_confirm,
    proposal_create,
    proposal_deliver,
    proposal_reject,
    proposal_start,
    proposal_withdraw,
    task_create,
    task_update,
)
from proposals.transitions import TRANSITIONS

Status = Proposal.Status
T = Task.Status

ADMIN = ("admin", "admin-demo-pass")
DEMO_PASSWORD = "demo-pass-123"
BUYERS = ("alice", "bob", "carol")
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
# Staff users, one per role; each is named after the auth group of its role
# (disputes/migrations/0003_staff_roles.py).
STAFF_ROLES = {
    "support": "resolves disputes",
    "finance": "releases and refunds escrow, adjusts wallets",
}
STAFF_PASSWORD = "staff-demo-pass"
# The roles' permissions as the migrations grant them: 0003 made the roles, 0004 lets
# support view the users.
STAFF_ROLE_PERMISSIONS = {
    role: [
        dotted
        for migration in ("0003_staff_roles", "0004_support_views_users")
        for dotted in import_module(f"disputes.migrations.{migration}").ROLES.get(role, [])
    ]
    for role in STAFF_ROLES
}
# The demo's notifications are stored (and shown on the site) but not e-mailed: the
# addresses are made up, and the console backend of DEBUG would bury the logins. The
# e-mail tasks go to a backend that runs nothing, so the worker never sees them.
NO_EMAIL = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
# The first deposit of each buyer, under a key that never changes; more than the buyer's
# accepted proposals below need.
DEPOSITS = {"alice": Decimal("5000.00"), "bob": Decimal("2500.00"), "carol": Decimal("1500.00")}
PIXEL, DATA = "Pixel Crafters", "Data Wranglers"
# Buyer ↔ group conversations: each holds at most one open proposal at a time.
CONVERSATIONS = (
    ("alice", PIXEL),
    ("alice", DATA),
    ("bob", PIXEL),
    ("bob", DATA),
    ("carol", PIXEL),
)
CHATS = {
    ("alice", PIXEL): (
        ("alice", "Hi! We need a new landing page for our bakery. Can you help?"),
        ("lena", "Happy to. Do you have a brand guide, or should we start from scratch?"),
        ("alice", "We have a logo and colours, nothing more. Budget is around 1,200 USD."),
        ("lena", "That works. I'll send a proposal with a two-week timeline."),
    ),
    ("bob", DATA): (
        ("bob", "Our weekly KPI report takes an afternoon by hand. Can you automate it?"),
        ("omar", "Yes: a scheduled job that reads your CRM and mails the report as a PDF."),
        ("nina", "Could you share a sample of last week's report? It helps us size it."),
        ("bob", "Attached to the proposal thread, thanks!"),
    ),
    ("carol", PIXEL): (
        ("carol", "Hello! I'd like mockups for a small restaurant app, iOS and Android."),
        ("max", "Sounds fun. How many screens are you thinking of?"),
        ("carol", "About ten: menu, cart, checkout, profile and a few more."),
    ),
}


class Deal(NamedTuple):
    buyer: str
    group: str
    title: str
    price: str
    status: str
    description: str = ""


# Closed deals first: a conversation's open proposal comes after its closed ones.
DEALS = (
    Deal(
        "alice", PIXEL, "Logo refresh", "350.00", Status.COMPLETED, "A cleaner logo, same colours."
    ),
    Deal("alice", DATA, "Spreadsheet import script", "250.00", Status.WITHDRAWN),
    Deal("bob", PIXEL, "Trade-show flyer", "200.00", Status.CANCELLED, "One A5 flyer, two sides."),
    Deal("bob", PIXEL, "Trade-show banner", "500.00", Status.REFUNDED, "A 2 m roll-up banner."),
    Deal("bob", DATA, "CRM data migration", "800.00", Status.SETTLED, "Move 12,000 contacts."),
    Deal("carol", PIXEL, "Menu redesign", "150.00", Status.REJECTED, "A printed menu, one page."),
    Deal("alice", PIXEL, "Bakery landing page", "1200.00", Status.IN_PROGRESS, "Design and build."),
    Deal(
        "alice", DATA, "Sales dashboard", "900.00", Status.DELIVERED, "Revenue by product, month."
    ),
    Deal(
        "bob", PIXEL, "Company website redesign", "1200.00", Status.PENDING, "Five pages, new look."
    ),
    Deal(
        "bob",
        DATA,
        "Weekly KPI report automation",
        "700.00",
        Status.DISPUTED,
        "CRM to PDF, weekly.",
    ),
    Deal("carol", PIXEL, "Mobile app mockups", "650.00", Status.ACCEPTED, "About ten screens."),
)
# Tasks of the deals being worked on: (title, assignee or None, status).
TASKS = {
    "Bakery landing page": (
        ("Wireframes of the home and menu pages", "mia", T.DONE),
        ("Visual design in Figma", "max", T.IN_PROGRESS),  # starting it starts the work
        ("Build the page and its contact form", "lena", T.TODO),
        ("Collect photos from the bakery", None, T.TODO),
    ),
    "Sales dashboard": (
        ("Load the sales exports into a database", "nina", T.DONE),
        ("Charts of revenue by product and month", "omar", T.DONE),
        ("Handover notes", "nina", T.DONE),
    ),
}


class DisputeSpec(NamedTuple):
    opened_by: str
    reason: str
    evidence: tuple  # (author, body) in order
    outcome: str = ""  # how support resolves it; "" leaves it open
    note: str = ""
    refund: str | None = None  # the buyer's part of a split


DISPUTES = {
    "Trade-show banner": DisputeSpec(
        "bob",
        "Work never started and the trade show is next week.",
        (
            ("bob", "We accepted ten days ago and have not seen a single draft."),
            ("lena", "Sorry, we are overbooked this month: we cannot make the date."),
        ),
        Dispute.Outcome.REFUND,
        "The group could not deliver in time: full refund.",
    ),
    "CRM data migration": DisputeSpec(
        "bob",
        "About a third of the contacts are missing after the migration.",
        (
            ("bob", "We counted 8,100 contacts in the new CRM instead of 12,000."),
            ("omar", "3,900 rows of the export had no e-mail address, which the CRM refuses."),
            ("support", "Both are right: the export was incomplete, the rest was delivered."),
        ),
        Dispute.Outcome.SPLIT,
        "Most of the work was delivered: 300 USD back to the buyer, the rest released.",
        "300.00",
    ),
    "Weekly KPI report automation": DisputeSpec(
        "bob",
        "The report's figures do not match our CRM.",
        (
            ("bob", "Last week's revenue shows 18,200 USD; the CRM says 21,450 USD."),
            ("omar", "The report counts paid invoices only, as agreed in the chat."),
            ("nina", "Happy to add unpaid invoices as a second column if that helps."),
            ("support", "Thanks both. Bob, could you confirm which figure was agreed?"),
        ),
    ),
}


@dataclass
class Demo:
    """What the steps made, by name, for the steps after them."""

    users: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    conversations: dict = field(default_factory=dict)  # by (buyer, group name)
    proposals: list = field(default_factory=list)


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


def _role_group(role: str) -> AuthGroup:
    """The role's auth group as the staff roles migration made it; made again, with the
    migration's permissions, if it is gone (`manage.py flush` empties the table)."""
    group, created = AuthGroup.objects.get_or_create(name=role)
    if created:
        for dotted in STAFF_ROLE_PERMISSIONS[role]:
            app_label, model, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(
                    content_type__app_label=app_label,
                    content_type__model=model,
                    codename=codename,
                )
            )
    return group


@transaction.atomic
def seed_staff(demo: Demo) -> None:
    """A staff user per role, in the role's auth group (made by the staff roles migration)."""
    for role in STAFF_ROLES:
        user = _user(role, STAFF_PASSWORD, is_staff=True)
        user.groups.add(_role_group(role))
        demo.users[role] = user


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
        wallet_get_or_open(user=user)
    for name, amount in DEPOSITS.items():
        wallet_deposit(
            user=demo.users[name],
            amount=Money(amount, "USD"),
            idempotency_key=f"seed-demo:deposit:{name}",
        )


@transaction.atomic
def seed_conversations(demo: Demo) -> None:
    """The conversations, and a little chat in some of them (once: skipped when the
    conversation already has a message from a person)."""
    for buyer, group_name in CONVERSATIONS:
        conversation, _ = conversation_open(buyer=demo.users[buyer], group=demo.groups[group_name])
        demo.conversations[buyer, group_name] = conversation
        if conversation.messages.filter(sender__isnull=False).exists():
            continue
        for sender, body in CHATS.get((buyer, group_name), ()):
            message_send(conversation=conversation, sender=demo.users[sender], body=body)


# --- proposals: each follows its path of moves ---------------------------------------


def _buyer(proposal: Proposal):
    return proposal.conversation.product_owner


def _leader(proposal: Proposal):
    return proposal.conversation.group.leader


def _accept(demo, proposal):
    proposal_accept(proposal=proposal, actor=_buyer(proposal))


def _reject(demo, proposal):
    proposal_reject(proposal=proposal, actor=_buyer(proposal))


def _withdraw(demo, proposal):
    proposal_withdraw(proposal=proposal, actor=_leader(proposal))


def _start(demo, proposal):
    proposal_start(proposal=proposal, actor=_leader(proposal))


def _deliver(demo, proposal):
    proposal_deliver(proposal=proposal, actor=_leader(proposal))


def _confirm(demo, proposal):
    proposal_confirm(proposal=proposal, actor=_buyer(proposal))


def _cancel(demo, proposal):
    proposal_cancel(proposal=proposal, actor=_leader(proposal))


def _tasks(demo, proposal):
    """The leader adds the tasks that are missing; each assignee (or the leader) moves
    theirs to its status. Tasks already there are left as they are."""
    leader = _leader(proposal)
    for title, assignee, status in TASKS.get(proposal.title, ()):
        if proposal.tasks.filter(title=title).exists():
            continue
        assigned_to = demo.users[assignee] if assignee else None
        task = task_create(proposal=proposal, actor=leader, title=title, assigned_to=assigned_to)
        if status != T.TODO:
            task_update(task=task, actor=assigned_to or leader, status=status)


def _dispute(demo, proposal):
    spec = DISPUTES[proposal.title]
    dispute_open(proposal=proposal, actor=demo.users[spec.opened_by], reason=spec.reason)


def _open_dispute(proposal) -> Dispute:
    return proposal.disputes.get(status=Dispute.Status.OPEN)


def _evidence(demo, proposal):
    dispute = _open_dispute(proposal)
    for author, body in DISPUTES[proposal.title].evidence:
        if not dispute.messages.filter(author=demo.users[author], body=body).exists():
            dispute_add_message(dispute=dispute, actor=demo.users[author], body=body)


def _resolve(demo, proposal):
    spec = DISPUTES[proposal.title]
    dispute_resolve(
        dispute=_open_dispute(proposal),
        actor=demo.users["support"],
        outcome=spec.outcome,
        note=spec.note,
        refund_amount=Money(spec.refund, "USD") if spec.refund else None,
    )


# Disputes that bring their own evidence: the disputed deal's tasks, (title, assignee,
# points, status), there before it is disputed, so its snapshot freezes them and suggests
# refunding the unfinished point of six: 700.00 * 1/6 = 116.67.
DISPUTED_DEAL_TASKS = {
    "Weekly KPI report automation": (
        ("Read the invoices from the CRM", "omar", 3, T.DONE),
        ("Lay out the weekly PDF", "nina", 2, T.DONE),
        ("Schedule the Monday e-mail", "omar", 1, T.IN_PROGRESS),
    ),
}


def _dispute_evidence_tasks(demo, proposal):
    """The tasks of a deal that will be disputed, each added once and moved by its assignee."""
    for title, assignee, points, status in DISPUTED_DEAL_TASKS.get(proposal.title, ()):
        if proposal.tasks.filter(title=title).exists():
            continue
        user = demo.users[assignee]
        task = task_create(
            proposal=proposal, actor=_leader(proposal), title=title, assigned_to=user, points=points
        )
        task_update(task=task, actor=user, status=status)


# Each move and the statuses it runs from (the transitions' own, from the state machine).
MOVES = {
    "accept": (TRANSITIONS["accept"].sources, _accept),
    "reject": (TRANSITIONS["reject"].sources, _reject),
    "withdraw": (TRANSITIONS["withdraw"].sources, _withdraw),
    "start": (TRANSITIONS["start"].sources, _start),
    "tasks": (TASKS_WRITABLE, _tasks),
    "deliver": (TRANSITIONS["deliver"].sources, _deliver),
    "confirm": (TRANSITIONS["confirm"].sources, _confirm),
    "cancel": (TRANSITIONS["cancel"].sources, _cancel),
    "dispute": (TRANSITIONS["dispute"].sources, _dispute),
    "evidence": ((Status.DISPUTED,), _evidence),
    "resolve": ((Status.DISPUTED,), _resolve),
    "dispute_evidence_tasks": (TASKS_WRITABLE, _dispute_evidence_tasks),
}
# The moves that take a new proposal to each status.
PATHS = {
    Status.PENDING: (),
    Status.ACCEPTED: ("accept",),
    Status.IN_PROGRESS: ("accept", "tasks"),  # a task moving to in progress starts the work
    Status.DELIVERED: ("accept", "start", "tasks", "deliver"),
    Status.COMPLETED: ("accept", "start", "deliver", "confirm"),
    Status.REJECTED: ("reject",),
    Status.WITHDRAWN: ("withdraw",),
    Status.CANCELLED: ("accept", "cancel"),
    Status.DISPUTED: (
        "accept",
        "start",
        "dispute_evidence_tasks",
        "deliver",
        "dispute",
        "evidence",
    ),
    Status.REFUNDED: ("accept", "start", "dispute", "evidence", "resolve"),
    Status.SETTLED: ("accept", "start", "deliver", "dispute", "evidence", "resolve"),
}


@transaction.atomic
def _seed_deal(demo: Demo, deal: Deal) -> Proposal:
    """Find the deal's proposal (by conversation and title) or send it, then make the
    moves of its path that its status still allows."""
    conversation = demo.conversations[deal.buyer, deal.group]
    proposal = (
        Proposal.objects.filter(conversation=conversation, title=deal.title, is_legacy=False)
        .order_by("pk")
        .first()
    )
    if proposal is None:
        proposal = proposal_create(
            conversation=conversation,
            actor=demo.groups[deal.group].leader,
            title=deal.title,
            description=deal.description,
            price=Money(deal.price, "USD"),
            due_date=timezone.localdate() + timedelta(days=30),
        )
    for name in PATHS[deal.status]:
        runs_from, move = MOVES[name]
        proposal.refresh_from_db()
        if proposal.status in runs_from:
            move(demo, proposal)
    proposal.refresh_from_db()
    return proposal


def seed_proposals(demo: Demo) -> None:
    """Proposals in every status, with their tasks and disputes."""
    for deal in DEALS:
        demo.proposals.append(_seed_deal(demo, deal))


# Pool by finished work: carol's deals with Data Wranglers share the member pool by the
# points of the done tasks. (title, price, status, tasks as (title, assignee, points,
# status)); one completed, one in progress.
TASK_POINTS_DEALS = (
    (
        "Customer list cleanup",
        "300.00",
        Status.COMPLETED,
        (
            ("Deduplicate the customers", "omar", 3, T.DONE),
            ("Fix the postcode column", "nina", 5, T.DONE),
        ),
    ),
    (
        "Menu sales analytics",
        "400.00",
        Status.IN_PROGRESS,
        (
            ("Export the order history", "nina", 5, T.DONE),
            ("Popularity charts", "omar", 3, T.IN_PROGRESS),
            ("Write-up for the owners", "nina", 2, T.TODO),
        ),
    ),
)


def _task_points_tasks(demo, proposal, tasks) -> None:
    for title, assignee, points, status in tasks:
        if proposal.tasks.filter(title=title).exists():
            continue
        user = demo.users[assignee]
        task = task_create(
            proposal=proposal, actor=_leader(proposal), title=title, assigned_to=user, points=points
        )
        if status != T.TODO:
            task_update(task=task, actor=user, status=status)


@transaction.atomic
def seed_task_points(demo: Demo) -> None:
    """Task-points deals (see `TASK_POINTS_DEALS`), each found by title or sent, then
    moved on as far as its status and what an earlier run did allow."""
    conversation, _ = conversation_open(buyer=demo.users["carol"], group=demo.groups[DATA])
    for title, price, target, tasks in TASK_POINTS_DEALS:
        proposal = conversation.proposals.filter(title=title).first() or proposal_create(
            conversation=conversation,
            actor=demo.groups[DATA].leader,
            title=title,
            price=Money(price, "USD"),
            pool_split=Proposal.PoolSplit.TASK_POINTS,
        )
        if proposal.status == Status.PENDING:
            _accept(demo, proposal)
            proposal.refresh_from_db()
        if proposal.status in TASKS_WRITABLE:
            _task_points_tasks(demo, proposal, tasks)
            proposal.refresh_from_db()
        if target != Status.COMPLETED:
            continue
        for runs_from, move in ((Status.ACCEPTED, _start), (Status.IN_PROGRESS, _deliver)):
            if proposal.status == runs_from:
                move(demo, proposal)
                proposal.refresh_from_db()
        if proposal.status == Status.DELIVERED:
            _confirm(demo, proposal)


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


@transaction.atomic
def seed_legacy_continued(demo: Demo) -> None:
    """A legacy project its owner continued with a group: its terms open the conversation
    and the leader's proposal form starts from them."""
    project, _ = Project.objects.get_or_create(
        owner=demo.users["carol"],
        title="Recipe archive digitisation",
        defaults={
            "description": "Type up 200 handwritten recipes into a searchable sheet.",
            "budget": Money("480.00", "USD"),
        },
    )
    if project.status != Project.CONTINUED:
        project_continue(project=project, actor=project.owner, group=demo.groups[DATA])


def seed_ledger_seal(demo: Demo) -> None:
    """Seal the demo's ledger (run last, after every money step), so the wallet pages show
    sealed lines and `GET /api/ledger/seal` answers. A rerun finds nothing new to seal."""
    seal_ledger(settle=timedelta(0))


STEPS = [
    seed_users,
    seed_staff,
    seed_groups,
    seed_wallets,
    seed_conversations,
    seed_proposals,
    seed_task_points,
    seed_legacy,
    seed_legacy_continued,
    seed_ledger_seal,
]


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
        with override_settings(TASKS=NO_EMAIL):
            for step in STEPS:
                step(demo)
        self._print_logins(demo)

    def _print_logins(self, demo: Demo) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS("Demo data ready."))
        out.write("Open http://127.0.0.1:8000/ (admin: /admin/, API docs: /api/docs/)")
        out.write(f"  superuser: {ADMIN[0]} / {ADMIN[1]}")
        for role, does in STAFF_ROLES.items():
            out.write(f"  staff:   {role} / {STAFF_PASSWORD} ({does})")
        out.write(f"  buyers:  {', '.join(BUYERS)} / {DEMO_PASSWORD}")
        for spec in GROUPS:
            members = ", ".join(spec["members"])
            out.write(
                f"  {spec['name']}: leader {spec['leader']}, members {members} / {DEMO_PASSWORD}"
            )
        out.write("Proposals:")
        for proposal in demo.proposals:
            conversation = proposal.conversation
            out.write(
                f"  {proposal.status:<12} {proposal.title} "
                f"({conversation.product_owner.username} ↔ {conversation.group.name})"
            )
