"""Reads of the core domain that the API and the pages share.

Each list is one query (plus the paginator's count): related rows come through
`select_related`, `prefetch_related` or an annotation, never one query per row.
"""

from datetime import timedelta

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from .errors import NotFound
from .models import (
    Conversation,
    ConversationReadMark,
    Group,
    GroupMembership,
    Message,
    Notification,
)

# One element of the group's JSON `skills` list equals the given skill, ignoring case.
_SKILL_SQL = {
    "postgresql": (
        'EXISTS (SELECT 1 FROM jsonb_array_elements_text("groups"."skills") AS skill '
        "WHERE lower(skill) = lower(%s))"
    ),
    "sqlite": (
        'EXISTS (SELECT 1 FROM json_each("groups"."skills") AS skill '
        "WHERE lower(skill.value) = lower(%s))"
    ),
}


# --- groups -------------------------------------------------------------------------


def _completed_projects() -> Coalesce:
    """The projects a group completed, over all its conversations (one subquery)."""
    totals = (
        Conversation.objects.filter(group=OuterRef("pk"))
        .order_by()
        .values("group")
        .annotate(total=Sum("total_completed_projects"))
        .values("total")
    )
    return Coalesce(Subquery(totals), 0)


def _member_count():
    """Per group, as a subquery: evaluated only for the rows of the page, where a join
    and GROUP BY would count the members of every group before the page is cut."""
    members = (
        GroupMembership.objects.filter(group=OuterRef("pk"))
        .order_by()
        .values("group")
        .annotate(total=Count("id"))
        .values("total")
    )
    return Coalesce(Subquery(members), 0)


def group_list(*, search: str = "", skill: str = "") -> QuerySet[Group]:
    """Discovery: every group, newest first, with its leader and member count; `search`
    matches name or description (case-insensitive; trigram-indexed on PostgreSQL),
    `skill` one of its skills."""
    groups = Group.objects.select_related("leader").annotate(
        member_count=_member_count(), completed_projects=_completed_projects()
    )
    search = search.strip()
    if search:
        groups = groups.filter(Q(name__icontains=search) | Q(description__icontains=search))
    skill = skill.strip()
    if skill:
        has_skill = RawSQL(_SKILL_SQL[connection.vendor], [skill], output_field=BooleanField())
        groups = groups.alias(has_skill=has_skill).filter(has_skill=True)
    return groups.order_by("-created_at", "-id")


def group_get(*, group_id) -> Group:
    """Any group (groups are public to signed-in users through discovery)."""
    group = Group.objects.select_related("leader").filter(pk=group_id).first()
    if group is None:
        raise NotFound("No such group.")
    return group


def group_detail(*, group_id) -> Group:
    """A group with its leader, its completed projects and its members (users loaded) in
    order of joining."""
    memberships = GroupMembership.objects.select_related("user").in_joining_order()
    group = (
        Group.objects.select_related("leader")
        .annotate(completed_projects=_completed_projects())
        .prefetch_related(Prefetch("memberships", queryset=memberships))
        .filter(pk=group_id)
        .first()
    )
    if group is None:
        raise NotFound("No such group.")
    return group


def group_is_member(*, group_id, user) -> bool:
    """Whether `user` (a user, or None) is a member of the group now."""
    user_id = getattr(user, "pk", None)
    return (
        user_id is not None
        and GroupMembership.objects.filter(group_id=group_id, user_id=user_id).exists()
    )


def group_member_ids(*, group_id: int) -> list[int]:
    """User ids of the group's current members, in order of joining."""
    memberships = GroupMembership.objects.filter(group_id=group_id).in_joining_order()
    return list(memberships.values_list("user_id", flat=True))


def group_members(*, group_id: int, among=None) -> list:
    """The group's current members (users), in order of joining; only those `among` the
    given user ids (a list or a queryset of ids) when it is given."""
    memberships = GroupMembership.objects.filter(group_id=group_id).in_joining_order()
    if among is not None:
        memberships = memberships.filter(user_id__in=among)
    return [membership.user for membership in memberships.select_related("user")]


def group_member_get(*, group_id, user) -> GroupMembership | None:
    return (
        GroupMembership.objects.select_related("user", "group")
        .filter(group_id=group_id, user_id=user.pk)
        .first()
    )


# --- conversations ------------------------------------------------------------------


def conversation_participant_filter(user, prefix: str = "") -> Q:
    """A filter for rows whose conversation `user` takes part in: as its buyer or as a
    current member of its group. `prefix` leads from the row to its conversation
    (`"conversation__"` from a proposal): proposals, tasks and disputes are read by the
    same people as their conversation."""
    user_id = getattr(user, "pk", None)
    member = GroupMembership.objects.filter(group_id=OuterRef(f"{prefix}group_id"), user_id=user_id)
    return Q(**{f"{prefix}product_owner_id": user_id}) | Q(Exists(member))


def conversation_with_parties(*, conversation_id) -> Conversation:
    """The conversation with its group and buyer loaded, for a service that decides
    itself who may act on it."""
    return Conversation.objects.select_related("group", "product_owner").get(pk=conversation_id)


def with_unread_count(conversations: QuerySet[Conversation], *, user) -> QuerySet[Conversation]:
    """Annotate `unread_count`: messages after the user's read mark that someone else
    (or the system) posted. Two subqueries, whatever the number of rows."""
    mark = ConversationReadMark.objects.filter(conversation=OuterRef("pk"), user_id=user.pk)
    unread = (
        Message.objects.filter(conversation=OuterRef("pk"), id__gt=OuterRef("last_read_id"))
        .exclude(sender_id=user.pk)
        .order_by()
        .values("conversation")
        .annotate(count=Count("id"))
        .values("count")
    )
    return conversations.annotate(
        last_read_id=Coalesce(Subquery(mark.values("last_read_message_id")[:1]), 0)
    ).annotate(unread_count=Coalesce(Subquery(unread), 0))


def conversation_list(*, user) -> QuerySet[Conversation]:
    """The conversations `user` takes part in, as the buyer or as a current member of the
    group, with their unread counts; newest first."""
    conversations = Conversation.objects.filter(conversation_participant_filter(user))
    return with_unread_count(conversations, user=user).order_by("-created_at", "-id")


def conversation_get(*, conversation_id, user) -> Conversation:
    """A conversation `user` takes part in; anyone else is told it does not exist."""
    conversation = (
        Conversation.objects.filter(conversation_participant_filter(user))
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    """The chat history, oldest first, senders loaded."""
    return (
        Message.objects.filter(conversation=conversation)
        .select_related("sender")
        .order_by("created_at", "id")
    )


# Message ids are taken at insert, not at commit: a message inserted just before the last
# one a client saw may commit just after it. Catch-up therefore also sends what was written
# in this window before that message; clients drop the ids they already have.
CATCH_UP_OVERLAP = timedelta(seconds=30)


def messages_missed(*, conversation: Conversation, last_seen_id: int) -> QuerySet[Message]:
    """What a client that last saw message `last_seen_id` may have missed, in id order:
    every later message, and the earlier ones written within `CATCH_UP_OVERLAP` of it."""
    seen_at = (
        Message.objects.filter(conversation=conversation, pk=last_seen_id)
        .values_list("created_at", flat=True)
        .first()
    )
    missed = Q(id__gt=last_seen_id)
    if seen_at is not None:
        missed |= Q(id__lt=last_seen_id, created_at__gte=seen_at - CATCH_UP_OVERLAP)
    return message_list(conversation=conversation).filter(missed).order_by("id")


# --- notifications ------------------------------------------------------------------


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first (index `notification_user_unread`)."""
    notifications = Notification.objects.filter(user_id=user.pk)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def unread_count(*, user) -> int:
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()
