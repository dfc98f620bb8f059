"""The demo data of `make run` (`manage.py seed_demo`): the whole product on show, made
through the services only, and idempotent."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group as AuthGroup
from django.core.management import call_command
from django.core.management.base import CommandError
from djmoney.money import Money

from disputes.models import Dispute
from escrow.models import EscrowTransaction, Wallet
from escrow.reconcile import find_problems
from marketplace.core.models import Conversation, Group, Notification, User
from proposals.models import Proposal, Task
from tests.conftest import run_background_tasks

S = Proposal.Status
DEMO_USERS = ("alice", "bob", "carol", "lena", "max", "mia", "omar", "nina")
APPS = ("marketplace", "escrow", "proposals", "disputes", "legacy")


def _counts() -> dict[str, int]:
    """Rows of every model of our apps (many-to-many tables too) and of users' groups."""
    counts = {
        model._meta.label: model._default_manager.count()
        for label in APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }
    counts["auth user groups"] = User.groups.through.objects.count()
    return counts


def _usd(amount: str) -> Money:
    return Money(amount, "USD")


@pytest.mark.django_db
def test_seed_demo_makes_a_proposal_in_every_status():
    call_command("seed_demo", verbosity=0)

    statuses = set(Proposal.objects.values_list("status", flat=True))
    assert statuses == set(S.values)
    # One open proposal at most per conversation: the open ones are spread out.
    open_per_conversation = [
        Proposal.objects.filter(conversation=c, status__in=Proposal.OPEN).count()
        for c in Conversation.objects.all()
    ]
    assert max(open_per_conversation) == 1
    # One of each open status, and the task-points deal in progress.
    assert sum(open_per_conversation) == len(Proposal.OPEN) + 1
    assert not Proposal.objects.filter(is_legacy=True).exists()


@pytest.mark.django_db
def test_seed_demo_gives_the_work_tasks_and_the_disputes_evidence():
    call_command("seed_demo", verbosity=0)

    working = Proposal.objects.get(status=S.IN_PROGRESS, pool_split="equal")
    assert set(working.tasks.values_list("status", flat=True)) == set(Task.Status.values)
    delivered = Proposal.objects.get(status=S.DELIVERED)
    assert set(delivered.tasks.values_list("status", flat=True)) == {Task.Status.DONE}
    for proposal in (working, delivered):
        members = set(proposal.conversation.group.memberships.values_list("user", flat=True))
        assignees = set(
            proposal.tasks.exclude(assigned_to=None).values_list("assigned_to", flat=True)
        )
        assert assignees and assignees <= members

    disputed = Proposal.objects.get(status=S.DISPUTED)
    open_dispute = disputed.disputes.get()
    assert open_dispute.status == Dispute.Status.OPEN
    assert open_dispute.messages.count() >= 3
    refunded = Proposal.objects.get(status=S.REFUNDED).disputes.get()
    assert (refunded.status, refunded.outcome) == (Dispute.Status.RESOLVED, Dispute.Outcome.REFUND)
    settled = Proposal.objects.get(status=S.SETTLED).disputes.get()
    assert (settled.outcome, settled.refund_amount) == (Dispute.Outcome.SPLIT, _usd("300.00"))
    assert settled.resolved_by.username == "support"
    # People talk in the chats too, not only the system's proposal messages.
    assert Conversation.objects.filter(messages__sender__isnull=False).distinct().count() >= 3


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing():
    call_command("seed_demo", verbosity=0)
    first = _counts()
    postings = EscrowTransaction.objects.count()
    balances = sorted(Wallet.objects.values_list("pk", "balance", "available_balance"))

    call_command("seed_demo", verbosity=0)

    assert _counts() == first
    assert EscrowTransaction.objects.count() == postings
    assert sorted(Wallet.objects.values_list("pk", "balance", "available_balance")) == balances
    assert find_problems() == []


@pytest.mark.django_db
def test_seed_demo_money_goes_through_the_ledger_and_reconciles():
    call_command("seed_demo", verbosity=0)

    assert find_problems() == []
    # Deposits minus what each buyer paid out or still holds in escrow.
    available = {
        name: Wallet.objects.get(user__username=name).available_balance
        for name in ("alice", "bob", "carol")
    }
    assert available == {
        "alice": _usd("2550.00"),  # 5000 - 350 paid - 1200 and 900 held
        "bob": _usd("1300.00"),  # 2500 - 500 of a split - 700 held (refunds came back)
        "carol": _usd("150.00"),  # 1500 - 650 and 400 held - 300 paid (task points)
    }
    # The completed "Logo refresh" (350) paid the Pixel Crafters: 3 % commission to the
    # leader, 87 % shared by the three members, the leader among them.
    assert Wallet.objects.get(user__username="lena").available_balance == _usd("112.00")
    assert Wallet.objects.get(user__username="max").available_balance == _usd("101.50")


@pytest.mark.django_db
def test_seed_demo_has_a_staff_user_for_each_role():
    call_command("seed_demo", verbosity=0)

    for name in ("support", "finance"):
        user = User.objects.get(username=name)
        assert user.is_staff and not user.is_superuser
        assert user.check_password("staff-demo-pass")
        assert list(user.groups.values_list("name", flat=True)) == [name]
    assert User.objects.get(username="support").has_perm("disputes.resolve_dispute")
    finance = User.objects.get(username="finance")
    assert finance.has_perm("proposals.release_escrow")
    assert not finance.has_perm("disputes.resolve_dispute")


@pytest.mark.django_db(transaction=True)  # committed, as `make run` does: e-mails would go
def test_seed_demo_prints_the_logins_and_keeps_the_first_demo(capsys, mailoutbox):
    call_command("seed_demo")
    out = capsys.readouterr().out

    admin_user = User.objects.get(username="admin")
    assert admin_user.is_superuser and admin_user.is_staff
    assert admin_user.check_password("admin-demo-pass")
    for name in DEMO_USERS:
        assert User.objects.get(username=name).check_password("demo-pass-123")
        assert name in out
    assert "127.0.0.1:8000" in out
    assert "admin / admin-demo-pass" in out
    assert "support / staff-demo-pass" in out
    assert "finance / staff-demo-pass" in out
    assert "demo-pass-123" in out

    pixel = Group.objects.get(name="Pixel Crafters")
    assert pixel.leader.username == "lena"
    assert [m.user.username for m in pixel.memberships.order_by("joined_at", "pk")] == [
        "lena",
        "max",
        "mia",
    ]
    assert Group.objects.get(name="Data Wranglers").leader.username == "omar"
    bakery = Conversation.objects.get(product_owner__username="alice", group=pixel)
    assert bakery.messages.filter(sender__isnull=False).count() == 4
    Project = apps.get_model("legacy", "Project")
    assert Project.objects.count() == 3
    continued = Project.objects.get(status="continued")
    assert (continued.title, continued.continued_conversation.group.name) == (
        "Recipe archive digitisation",
        "Data Wranglers",
    )
    assert apps.get_model("legacy", "Order").objects.count() == 1
    # The notifications are stored for the site, but the made-up addresses get no e-mail.
    assert Notification.objects.exists()
    run_background_tasks()
    assert mailoutbox == []


@pytest.mark.django_db
def test_seed_demo_makes_the_role_groups_again_after_a_flush():
    AuthGroup.objects.filter(name__in=["support", "finance"]).delete()

    call_command("seed_demo", verbosity=0)

    support = User.objects.get(username="support")
    assert support.has_perm("disputes.resolve_dispute")
    assert not support.has_perm("proposals.release_escrow")
    finance = User.objects.get(username="finance")
    assert {"proposals.release_escrow", "proposals.refund_escrow"} <= finance.get_all_permissions()


@pytest.mark.django_db
def test_seed_demo_refuses_without_the_sandbox_payment_provider(settings):
    settings.PAYMENTS_SANDBOX = False

    with pytest.raises(CommandError, match="PAYMENTS_SANDBOX"):
        call_command("seed_demo", verbosity=0)

    assert User.objects.count() == 0
