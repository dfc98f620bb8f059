from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField

from escrow.money import AMOUNT


class DisputeStatus(models.TextChoices):
    # The proposal is `disputed`: its escrow is frozen, the parties add evidence.
    OPEN = "open"
    # Support staff decided the outcome; the escrow has been emptied.
    RESOLVED = "resolved"


class DisputeOutcome(models.TextChoices):
    REFUND = "refund"  # everything back to the buyer; the proposal is `refunded`
    RELEASE = "release"  # paid out as a confirmation would; the proposal is `completed`
    SPLIT = "split"  # `refund_amount` back, the rest released; the proposal is `settled`


class Dispute(models.Model):
    Status = DisputeStatus
    Outcome = DisputeOutcome

    proposal = models.ForeignKey(
        "proposals.Proposal", on_delete=models.PROTECT, related_name="disputes"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # The proposal's status when the dispute opened, so a resolution can tell what was frozen.
    proposal_status_before = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    refund_amount = MoneyField(null=True, blank=True, **AMOUNT)
    # Frozen at opening from the snapshot's tasks (`disputes.evidence`); null without tasks.
    suggested_refund_amount = MoneyField(null=True, blank=True, **AMOUNT)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "disputes"
        indexes = [models.Index(fields=["status", "created_at"], name="dispute_status_age")]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal"],
                condition=models.Q(status="open"),
                name="one_open_dispute_per_proposal",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DisputeStatus.values), name="dispute_status_known"
            ),
            # Open: no outcome yet. Resolved: one of the outcomes.
            models.CheckConstraint(
                condition=models.Q(status="open", outcome="")
                | models.Q(status="resolved", outcome__in=DisputeOutcome.values),
                name="dispute_outcome_matches_status",
            ),
        ]
        permissions = [("resolve_dispute", "Can resolve a dispute (refund, release or split)")]

    def __str__(self):
        return f"Dispute #{self.pk} on proposal #{self.proposal_id} ({self.status})"


class DisputeMessage(models.Model):
    """Evidence: what a party or staff member says in the dispute."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "dispute_messages"
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"Evidence #{self.pk}"


class EvidenceKind(models.TextChoices):
    AUTO = "auto"  # frozen from the proposal when the dispute opened, not said by anyone


class SnapshotTopic(models.TextChoices):
    TERMS = "terms"
    TASK = "task"
    DELIVERY = "delivery"
    MESSAGE = "message"


class DisputeEvidenceItem(models.Model):
    """One item of the snapshot frozen when the dispute opened, in timeline order."""

    Kind = EvidenceKind
    Topic = SnapshotTopic

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="evidence_items")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.AUTO)
    topic = models.CharField(max_length=10, choices=Topic.choices)
    position = models.PositiveIntegerField()
    occurred_at = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        db_table = "dispute_evidence_items"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "position"], name="dispute_evidence_position_unique"
            ),
        ]

    def __str__(self):
        return f"Evidence item #{self.pk} ({self.topic})"
