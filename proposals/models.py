from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from djmoney.models.fields import MoneyField
from djmoney.money import Money

from escrow.money import AMOUNT, CENT, Rates


class ProposalStatus(models.TextChoices):
    PENDING = "pending"  # sent, waiting for the buyer
    ACCEPTED = "accepted"  # the buyer accepted: the price is locked in escrow
    IN_PROGRESS = "in_progress", "In progress"  # the group is working on it
    DELIVERED = "delivered"  # the group says it is done; the buyer confirms or disputes
    COMPLETED = "completed"  # escrow released to the platform, leader and members
    REJECTED = "rejected"  # the buyer said no before accepting
    WITHDRAWN = "withdrawn"  # the leader took it back before acceptance
    CANCELLED = "cancelled"  # the leader cancelled after acceptance: full refund
    DISPUTED = "disputed"  # a party opened a dispute: escrow frozen until staff resolve
    REFUNDED = "refunded"  # dispute resolved with a full refund
    SETTLED = "settled"  # dispute resolved with a split


# Statuses in which the buyer's money is held in escrow for the proposal.
ESCROW_HELD_STATUSES = (
    ProposalStatus.ACCEPTED,
    ProposalStatus.IN_PROGRESS,
    ProposalStatus.DELIVERED,
    ProposalStatus.DISPUTED,
)
# A conversation has at most one proposal in these statuses at a time (the constraint
# `one_open_proposal_per_conversation` below).
OPEN_STATUSES = (ProposalStatus.PENDING, *ESCROW_HELD_STATUSES)


class PoolSplit(models.TextChoices):
    EQUAL = "equal", "Equal shares"
    # By the points of the done tasks each participant was assigned (CONTRACT.md).
    TASK_POINTS = "task_points", "By finished task points"


class Proposal(models.Model):
    """A priced offer from a group's leader to a buyer, and the deal it becomes."""

    Status = ProposalStatus
    PoolSplit = PoolSplit
    ESCROW_HELD = ESCROW_HELD_STATUSES
    OPEN = OPEN_STATUSES

    conversation = models.ForeignKey(
        "marketplace.Conversation", on_delete=models.CASCADE, related_name="proposals"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = MoneyField(**AMOUNT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    due_date = models.DateField(null=True, blank=True)
    pool_split = models.CharField(max_length=20, choices=PoolSplit.choices, default=PoolSplit.EQUAL)
    # Proposals written by the old system: no escrow was ever held for them.
    is_legacy = models.BooleanField(default=False)

    # The fee breakdown, frozen at creation with the rates then in force.
    platform_fee_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    leader_commission_rate = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    platform_fee = MoneyField(default=0, **AMOUNT)
    leader_commission = MoneyField(default=0, **AMOUNT)
    member_pool = MoneyField(default=0, **AMOUNT)
    escrow_amount = MoneyField(default=0, **AMOUNT)
    escrow_hold = models.OneToOneField(
        "escrow.EscrowHold",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposal",
    )
    # Members of the group at acceptance, who share the member pool if still members.
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", db_table="proposal_participants"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    # Automatic release (see `auto_release_at`). The buyer may push it back once.
    auto_release_extended_until = models.DateTimeField(null=True, blank=True)
    # Reminders already sent to the buyer ([3, 1]: days before the release time), for the
    # release time in `auto_release_reminded_for`: a new time (re-delivery, extension)
    # starts a fresh set.
    auto_release_reminders_sent = models.JSONField(default=list, blank=True)
    auto_release_reminded_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "project_proposals"
        permissions = [
            ("release_escrow", "Can release a proposal's escrow (admin)"),
            ("refund_escrow", "Can refund a proposal's escrow (admin)"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(is_legacy=False, status__in=list(OPEN_STATUSES)),
                name="one_open_proposal_per_conversation",
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0) | Q(is_legacy=True), name="proposal_price_positive"
            ),
        ]
        indexes = [
            models.Index(
                fields=["conversation", "-created_at"], name="proposal_conversation_recent"
            ),
            # The auto-release job scans delivered proposals by delivery time.
            models.Index(fields=["status", "delivered_at"], name="proposal_status_delivered"),
        ]

    def __str__(self):
        return f"{self.title} ({self.status})"

    @property
    def rates(self) -> Rates:
        """The rates frozen on the proposal when it was created."""
        return Rates(self.platform_fee_rate, self.leader_commission_rate)

    @property
    def auto_release_at(self):
        """When a delivered proposal's escrow is released if the buyer stays silent:
        `ESCROW_AUTO_RELEASE_DAYS` after the (latest) delivery, or later if the buyer
        extended it. None unless delivered: a disputed proposal's clock is stopped."""
        if self.status != self.Status.DELIVERED or self.is_legacy or not self.delivered_at:
            return None
        due = self.delivered_at + timedelta(days=settings.ESCROW_AUTO_RELEASE_DAYS)
        extended = self.auto_release_extended_until
        return max(due, extended) if extended else due

    @staticmethod
    def auto_release_by(when: datetime) -> Q:
        """A filter for the proposals whose `auto_release_at` is at or before `when`:
        delivered `ESCROW_AUTO_RELEASE_DAYS` before it, and not extended past it."""
        delivered_by = when - timedelta(days=settings.ESCROW_AUTO_RELEASE_DAYS)
        not_extended_past = Q(auto_release_extended_until__isnull=True) | Q(
            auto_release_extended_until__lte=when
        )
        return (
            Q(status=ProposalStatus.DELIVERED, is_legacy=False, delivered_at__lte=delivered_by)
            & not_extended_past
        )

    def split_refund_problem(self, refund) -> str | None:
        """Why `refund` cannot be what a split of this proposal's escrow gives back to the
        buyer, or None: money in the proposal's currency, more than 0 and less than the
        price, to the cent. (The escrow services guard the hold itself the same way.)"""
        price = self.price
        if not isinstance(refund, Money):
            return "A split needs a refund amount."
        if str(refund.currency) != str(price.currency):
            return f"The refund must be in {price.currency}."
        amount = refund.amount
        # The bounds first: an absurd amount (1e30) must not reach the rounding.
        if not 0 < amount < price.amount or amount != amount.quantize(CENT):
            return (
                f"A split refunds more than 0 and less than the price, {price.amount} "
                f"{price.currency}, to the cent."
            )
        return None


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"  # not started; a new task's status
    IN_PROGRESS = "in_progress", "In progress"  # started: starts an accepted proposal
    DONE = "done"  # finished; a leaving member keeps their done tasks


TASK_POINTS_MIN, TASK_POINTS_MAX = 1, 100


class Task(models.Model):
    Status = TaskStatus

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TODO)
    # A task-points proposal's pool follows the points of the done tasks.
    points = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(TASK_POINTS_MIN), MaxValueValidator(TASK_POINTS_MAX)],
    )
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "project_tasks"
        indexes = [
            models.Index(fields=["proposal", "status"], name="task_proposal_status"),
            models.Index(fields=["assigned_to", "status"], name="task_assignee_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=TaskStatus.values), name="task_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(points__gte=TASK_POINTS_MIN, points__lte=TASK_POINTS_MAX),
                name="task_points_in_range",
            ),
        ]

    def __str__(self):
        return self.title
