"""Reads of the proposal workflow that services, pages and the API share."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from marketplace.models import GroupMembership

from .models import Proposal


def group_member_ids(*, group_id: int) -> list[int]:
    """User ids of the group's current members, in order of joining."""
    return list(
        GroupMembership.objects.filter(group_id=group_id)
        .order_by("joined_at", "id")
        .values_list("user_id", flat=True)
    )


def is_group_member(*, group_id: int, user_id: int | None) -> bool:
    return (
        user_id is not None
        and GroupMembership.objects.filter(group_id=group_id, user_id=user_id).exists()
    )


def proposal_payees(*, proposal: Proposal):
    """Who is paid when the proposal's escrow is released: `(leader, members)`.

    The leader is whoever leads the group now; the members are the proposal's
    participants (the group's members at acceptance) who are still members, in order of
    joining (`joined_at`, then membership id) so the leftover cents go to the earliest.
    """
    group = proposal.conversation.group
    User = get_user_model()
    leader = User.objects.get(pk=group.leader_id)
    participant_ids = set(proposal.participants.values_list("pk", flat=True))
    member_ids = [pk for pk in group_member_ids(group_id=group.pk) if pk in participant_ids]
    users = User.objects.in_bulk(member_ids)
    return leader, [users[pk] for pk in member_ids]


def proposals_due_for_auto_release(*, now: datetime | None = None) -> QuerySet[Proposal]:
    """Delivered proposals whose buyer has neither confirmed nor disputed within
    `ESCROW_AUTO_RELEASE_DAYS`, oldest delivery first (index `proposal_status_delivered`)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ESCROW_AUTO_RELEASE_DAYS)
    return Proposal.objects.filter(
        status=Proposal.Status.DELIVERED, is_legacy=False, delivered_at__lte=cutoff
    ).order_by("delivered_at", "pk")
