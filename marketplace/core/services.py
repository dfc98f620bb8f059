"""Writes of the core domain: groups, memberships, conversations and messages (accounts
are in `marketplace.core.accounts`).

Every function is one use case: keyword-only arguments, the acting user explicit, one
transaction. Refusals raise a `DomainError` before anything is written. The apps above
(escrow, proposals) take part through the events of `marketplace.core.signals`: this module
imports none of them.

Groups are locked (`SELECT ... FOR UPDATE` on the group row) by every change of
leadership or membership, so a leave and a leadership transfer, or a delete and an
added member, never interleave.
"""

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.db.models import Case, F, ProtectedError, QuerySet, Value, When
from django.db.models.functions import Greatest

from . import events, names
from .chat_limits import MESSAGE, chat_rate_check
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .models import Conversation, ConversationReadMark, Group, GroupMembership, Message
from .signals import group_created, group_deleting, member_left

User = get_user_model()


# --- groups -------------------------------------------------------------------------


def _group_for_update(group: Group) -> Group:
    try:
        return Group.objects.select_for_update().get(pk=group.pk)
    except Group.DoesNotExist:
        raise NotFound("No such group.") from None


def group_hold_membership(*, group_id: int | QuerySet) -> bool:
    """Keep the group's leader and members as they are until the caller's transaction
    ends: leave, leadership transfer and delete (which lock the group row for update)
    wait for it. The proposal workflow takes it before anything else, so whoever it pays
    is who is in the group when it commits, and its lock order (group, then proposal,
    then escrow accounts) is the one group deletion follows too. Returns whether there
    is such a group.

    `group_id` is an id or a one-value queryset of it (a proposal's group), so finding
    the group and holding it is one statement. A share lock: payouts of one group do not
    wait for each other. SQLite has no row locks; its IMMEDIATE transactions run one at
    a time anyway."""
    if isinstance(group_id, QuerySet):
        subquery, params = group_id.query.sql_with_params()
        target = f"({subquery})"
    else:
        target, params = "%s", [group_id]
    share = " FOR SHARE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{Group._meta.db_table}" WHERE "id" = {target}{share}', params
        )
        return cursor.fetchone() is not None


def membership_hold(*, group_id: int, user) -> bool:
    """Whether `user` is a member of the group now; if so their membership row stays
    locked until the caller commits, so a concurrent `group_leave` waits for the caller
    (and its `member_left` receivers then see what the caller wrote)."""
    memberships = GroupMembership.objects.select_for_update().filter(
        group_id=group_id, user_id=getattr(user, "pk", None)
    )
    return bool(list(memberships.values_list("pk", flat=True)[:1]))


def _require_leader(group: Group, actor) -> None:
    if group.leader_id != actor.pk:
        raise Forbidden("Only the group's leader can do this.")


def _clean_skills(skills) -> list[str]:
    """Trimmed, without blanks or repeats (case-insensitively), in the given order."""
    cleaned, seen = [], set()
    for skill in skills:
        skill = skill.strip()
        if skill and skill.lower() not in seen:
            seen.add(skill.lower())
            cleaned.append(skill)
    return cleaned


@transaction.atomic
def group_create(*, leader, name: str, description: str = "", skills=()) -> Group:
    """A new group led by `leader`, who is its first member; with its group wallet. Its
    name is stored NFKC-normalised and refused when it mixes scripts or looks like an
    existing group's (`marketplace.core.names`)."""
    group = Group(
        name=names.normalize(name),
        description=description,
        skills=_clean_skills(skills),
        leader=leader,
    )
    if refusal := group.name_refusal():
        raise InvalidInput(refusal, code="group_name_taken", fields={"name": [refusal]})
    group.save()
    GroupMembership.objects.create(group=group, user=leader)
    group_created.send(sender=Group, group=group)
    return group


@transaction.atomic
def group_member_add(*, group: Group, actor, user) -> GroupMembership:
    """The leader adds `user` to the group."""
    group = _group_for_update(group)
    _require_leader(group, actor)
    if GroupMembership.objects.filter(group=group, user=user).exists():
        raise Conflict(f"{user.username} is already a member.", code="already_member")
    membership = GroupMembership.objects.create(group=group, user=user)
    membership.group = group
    return membership


# One answer for a username that does not exist and one the leader may not add, so
# adding members cannot be used to find out who has an account.
NOT_ADDABLE = "There is no such user, or they cannot be added to a group."


@transaction.atomic
def group_member_add_by_username(*, group: Group, actor, username: str) -> GroupMembership:
    """The leader adds the active user called `username` (in any case). Who may add is
    decided before the name is looked up: anyone else is refused (403) whether or not
    the name exists."""
    group = _group_for_update(group)
    _require_leader(group, actor)
    user = User.objects.filter(username__iexact=names.normalize(username), is_active=True).first()
    if user is None:
        raise InvalidInput(NOT_ADDABLE, code="invalid", fields={"username": [NOT_ADDABLE]})
    return group_member_add(group=group, actor=actor, user=user)


@transaction.atomic
def group_leave(*, group: Group, user) -> None:
    """`user` leaves the group. The leader cannot: they transfer the leadership first.
    `member_left` is sent inside this transaction, after the membership is gone, so its
    receivers (proposals unassigning open tasks) commit or roll back with it."""
    group = _group_for_update(group)
    if group.leader_id == user.pk:
        raise Conflict(
            "The leader cannot leave the group: transfer the leadership first.",
            code="leader_cannot_leave",
        )
    deleted, _ = GroupMembership.objects.filter(group=group, user=user).delete()
    if not deleted:
        raise Conflict("You are not a member of this group.", code="not_a_member")
    member_left.send(sender=Group, group=group, user=user)
    events.access_revoked(
        user_id=user.pk,
        conversation_ids=list(
            group.conversations.exclude(product_owner=user).values_list("pk", flat=True)
        ),
    )


@transaction.atomic
def group_leadership_transfer(*, group: Group, actor, new_leader_id: int) -> Group:
    """The leader hands the group to another member. Handing it to oneself changes
    nothing."""
    group = _group_for_update(group)
    _require_leader(group, actor)
    if new_leader_id == group.leader_id:
        return group
    membership = (
        GroupMembership.objects.select_related("user")
        .filter(group=group, user_id=new_leader_id)
        .first()
    )
    if membership is None:
        raise InvalidInput(
            "The new leader must be a member of the group.", code="new_leader_not_member"
        )
    group.leader = membership.user
    group.save(update_fields=["leader"])
    return group


@transaction.atomic
def group_delete(*, group: Group, actor) -> None:
    """The leader deletes the group, with its memberships, conversations and messages.

    Refused with `escrow_active` while any escrow hold of the group still holds money,
    and with `group_has_history` once money has ever moved for it: ledger entries are
    never deleted, and they reference the group's wallet and holds."""
    group = _group_for_update(group)
    _require_leader(group, actor)
    group_deleting.send(sender=Group, group=group)
    try:
        group.delete()
    except ProtectedError:
        raise Conflict(
            "This group's history must be kept: it cannot be deleted.", code="group_has_history"
        ) from None


# --- conversations ------------------------------------------------------------------


@transaction.atomic
def conversation_open(*, buyer, group: Group) -> tuple[Conversation, bool]:
    """The conversation between `buyer` and `group`, created on first use. Returns it and
    whether it was created. A member cannot open one with their own group."""
    if GroupMembership.objects.filter(group=group, user=buyer).exists():
        raise InvalidInput(
            "You cannot open a conversation with a group you belong to.", code="own_group"
        )
    # get_or_create retries the read when a concurrent call wins the unique constraint.
    return Conversation.objects.get_or_create(product_owner=buyer, group=group)


def conversation_track_proposal(
    *, conversation: Conversation, proposal_id: int, is_open: bool, created: bool, completed: bool
) -> None:
    """The conversation's counters after a change of one of its proposals: the open one
    is `active_proposal_id` (cleared when that one closes), `total_proposals` counts
    creations and `total_completed_projects` completions. Called inside the proposal's
    transaction, last in the lock order; `conversation` follows."""
    if is_open:
        active = Value(proposal_id)
    else:
        active = Case(
            When(active_proposal_id=proposal_id, then=Value(None)),
            default=F("active_proposal_id"),
            output_field=models.BigIntegerField(),
        )
    changes = {"active_proposal_id": active}
    if created:
        changes["total_proposals"] = F("total_proposals") + 1
    if completed:
        changes["total_completed_projects"] = F("total_completed_projects") + 1
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    # The open proposal is known (one at a time per conversation, under its proposal's
    # lock); the counters moved in the database and are read again if anyone asks.
    if is_open:
        conversation.active_proposal_id = proposal_id
    elif conversation.active_proposal_id == proposal_id:
        conversation.active_proposal_id = None
    for counter in changes.keys() - {"active_proposal_id"}:
        conversation.__dict__.pop(counter, None)  # deferred: loaded again on access


@transaction.atomic
def message_create(
    *, conversation: Conversation, sender, body: str, metadata: dict | None = None
) -> Message:
    """Store a chat message and announce it to the conversation once committed.
    `sender=None` makes it a system message (a proposal event described by `metadata`)."""
    message = Message.objects.create(
        conversation=conversation, sender=sender, body=body, metadata=metadata or {}
    )
    events.message_created(message)
    return message


@transaction.atomic
def message_send(*, conversation: Conversation, sender, body: str) -> Message:
    """A participant (the buyer or a current member of the group) writes in the chat."""
    is_participant = (
        conversation.product_owner_id == sender.pk
        or GroupMembership.objects.filter(group_id=conversation.group_id, user=sender).exists()
    )
    if not is_participant:
        raise NotFound("No such conversation.")
    body = body.strip()
    if not body:
        raise InvalidInput("A message needs a body.", code="blank_message")
    # Here, not in the page, API or socket: every way in spends the same budget.
    chat_rate_check(user_id=sender.pk, action=MESSAGE)
    return message_create(conversation=conversation, sender=sender, body=body)


@transaction.atomic
def conversation_mark_read(
    *, conversation: Conversation, user, message_id: int | None = None
) -> int:
    """The participant has read up to `message_id` (default: the latest message). The
    mark never moves back, so tabs reporting out of order cannot re-open old messages.
    Announces a read receipt to the conversation after commit; returns the mark."""
    latest = conversation.messages.order_by("-id").values_list("id", flat=True).first() or 0
    target = latest if message_id is None else min(message_id, latest)
    mark, _ = ConversationReadMark.objects.get_or_create(conversation=conversation, user=user)
    ConversationReadMark.objects.filter(pk=mark.pk).update(
        last_read_message_id=Greatest("last_read_message_id", Value(target))
    )
    mark.refresh_from_db()
    events.read_receipt(
        conversation_id=conversation.pk, user=user, message_id=mark.last_read_message_id
    )
    return mark.last_read_message_id
