from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from . import names
from .limits import GROUP_DESCRIPTION_MAX_LENGTH


def _with_skeleton(update_fields, name_field: str, skeleton_field: str):
    """`save()`'s update_fields, with the skeleton wherever the name is saved."""
    if update_fields is None or name_field not in update_fields:
        return update_fields
    return {*update_fields, skeleton_field}


class User(AbstractUser):
    # `names.skeleton(username)`, kept by save(): a look-alike of an existing username
    # (`alice` spelt with a Cyrillic a) is found with one indexed lookup.
    username_skeleton = models.TextField(db_index=True, editable=False)

    class Meta:
        db_table = "users"

    def username_refusal(self) -> str | None:
        """Why this username cannot be taken (mixed scripts, or another user's in any case
        or by look), or None."""
        return names.lookalike_refusal(
            self.username,
            noun="username",
            existing=type(self).objects.exclude(pk=self.pk),
            name_field="username",
            skeleton_field="username_skeleton",
        )

    def clean(self):
        super().clean()  # NFKC-normalises the username
        # No username: the form has already said what is wrong with it.
        if self.username and (refusal := self.username_refusal()):
            raise ValidationError({"username": refusal})

    def save(self, *args, update_fields=None, **kwargs):
        self.username_skeleton = names.skeleton(self.username)
        update_fields = _with_skeleton(update_fields, "username", "username_skeleton")
        super().save(*args, update_fields=update_fields, **kwargs)


class Group(models.Model):
    """A group of freelancers that buyers hire as one. Its leader is one of its members."""

    name = models.CharField(max_length=120)
    # `names.skeleton(name)`, kept by save(), like the username's.
    name_skeleton = models.TextField(db_index=True, editable=False)
    description = models.TextField(blank=True, max_length=GROUP_DESCRIPTION_MAX_LENGTH)
    skills = models.JSONField(default=list, blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="led_groups"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "groups"
        # Discovery lists the newest first, a page at a time. Searching name and
        # description has trigram indexes on PostgreSQL (migration 0013).
        indexes = [models.Index(fields=["-created_at", "-id"], name="groups_newest_first")]

    def __str__(self):
        return self.name

    def save(self, *args, update_fields=None, **kwargs):
        self.name_skeleton = names.skeleton(self.name)
        update_fields = _with_skeleton(update_fields, "name", "name_skeleton")
        super().save(*args, update_fields=update_fields, **kwargs)

    def name_refusal(self) -> str | None:
        """Why this name cannot be taken (mixed scripts, or another group's in any case or
        by look), or None."""
        return names.lookalike_refusal(
            self.name,
            noun="group name",
            existing=type(self).objects.exclude(pk=self.pk),
            name_field="name",
            skeleton_field="name_skeleton",
        )

    def clean(self):
        if self.name and (refusal := self.name_refusal()):
            raise ValidationError({"name": refusal})


class MembershipQuerySet(models.QuerySet):
    def in_joining_order(self):
        """Oldest member first: the order that gives out the member pool's leftover
        cents (CONTRACT.md), and the order the pages list members in."""
        return self.order_by("joined_at", "id")


class GroupMembership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        db_table = "group_members"
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="unique_group_member")
        ]

    def __str__(self):
        return f"{self.user} in {self.group}"


class Conversation(models.Model):
    """The chat between one buyer (the product owner) and one group."""

    product_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="conversations")
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept by the proposal services in the same transaction as the change they describe.
    # A plain id, not a foreign key: proposals depend on conversations, not the reverse.
    active_proposal_id = models.BigIntegerField(null=True, blank=True)
    total_proposals = models.PositiveIntegerField(default=0)
    total_completed_projects = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "conversations"
        constraints = [
            models.UniqueConstraint(fields=["product_owner", "group"], name="unique_conversation")
        ]

    def __str__(self):
        return f"Conversation #{self.pk}"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # No sender: a system message announcing a proposal event, described by `metadata`.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    body = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "conversation_messages"
        # Chat history and reconnect catch-up read "messages of a conversation after id N".
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation_id")]

    def __str__(self):
        return f"Message #{self.pk}"


class IdempotencyRecord(models.Model):
    """The stored outcome of a POST sent with an `Idempotency-Key` header (see
    `marketplace.core.idempotency`). One row per user and key; a retry with the same key and the
    same request (same fingerprint) within 24 h gets `response_status` and `response_body`
    back instead of running again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    # sha256 of method, path and canonical JSON body.
    fingerprint = models.CharField(max_length=64)
    # Written in the same transaction as the insert, so never seen empty by another request.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # The JSON text as it was produced, keys in their order: a replay is byte for byte the
    # first answer (a jsonb column would reorder the keys).
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "idempotency_records"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="unique_idempotency_key_per_user")
        ]
        # Expired records are purged by age.
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_at")]

    def __str__(self):
        return f"Idempotency key {self.key!r} of user #{self.user_id}"


class ConversationReadMark(models.Model):
    """How far a participant has read a conversation: the unread badge counts the
    messages after `last_read_message_id` that someone else posted. Never moves back."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_marks"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_message_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "conversation_read_marks"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="unique_read_mark")
        ]

    def __str__(self):
        return f"{self.user} read {self.conversation} up to #{self.last_read_message_id}"


class FlagGroup(models.Model):
    """Turns a django-waffle flag on for the members of a marketplace group (waffle itself
    knows users and auth groups; see `marketplace.core.rollout`)."""

    flag = models.ForeignKey(
        "waffle.Flag", on_delete=models.CASCADE, related_name="marketplace_groups"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")

    class Meta:
        db_table = "rollout_flag_groups"
        constraints = [models.UniqueConstraint(fields=["flag", "group"], name="unique_flag_group")]

    def __str__(self):
        return f"{self.flag} for {self.group}"


class Notification(models.Model):
    """Something that happened to a user, kept for their in-app list (unread until
    `read_at` is set), also e-mailed and pushed live once the change that caused it
    commits (see `marketplace.core.notifications`)."""

    class Kind(models.TextChoices):
        PROPOSAL_RECEIVED = "proposal_received"
        PROPOSAL_ACCEPTED = "proposal_accepted"
        PROPOSAL_REJECTED = "proposal_rejected"
        PROPOSAL_DELIVERED = "proposal_delivered"
        AUTO_RELEASE_REMINDER = "auto_release_reminder"
        PROPOSAL_COMPLETED = "proposal_completed"
        PROPOSAL_CANCELLED = "proposal_cancelled"
        CHANGES_REQUESTED = "changes_requested"
        TASK_ASSIGNED = "task_assigned"
        DISPUTE_OPENED = "dispute_opened"
        DISPUTE_RESOLVED = "dispute_resolved"
        PAYMENT_RECEIVED = "payment_received"
        REFUND_RECEIVED = "refund_received"
        LEGACY_PROJECT_CONTINUED = "legacy_project_continued"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # A path in the site, e.g. "/conversations/12/"; empty when there is nothing to open.
    link = models.CharField(max_length=300, blank=True)
    # Ids of what it is about, e.g. {"proposal_id": 7}, for clients to act on.
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "notifications"
        # The list (newest first, optionally unread only) and the unread count.
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_unread")
        ]

    def __str__(self):
        return f"{self.kind} for user #{self.user_id}"
