"""Reads of the dispute workflow that the API and the pages share."""

from datetime import date

from django.db.models import Prefetch, Q

from marketplace.core.errors import NotFound
from marketplace.core.roles import has_staff_power
from proposals.models import PoolSplit
from proposals.selectors import readable_by
from proposals.transitions import RESOLVE_DISPUTES

from .models import Dispute, DisputeEvidenceItem, DisputeMessage


def _readable_disputes(user) -> Q:
    if has_staff_power(user, RESOLVE_DISPUTES.permission):
        return Q()
    return readable_by(user, "proposal__")


def dispute_get(*, dispute_id, user) -> Dispute:
    """A dispute `user` may read: the parties (the buyer and the group's current members,
    the leader included) and the support role; anyone else is told it does not exist. Its
    evidence comes with it, oldest first, authors loaded, and the snapshot frozen when it
    opened, in timeline order: three queries however long they are.
    The API and the pages both ask this, so they cannot disagree."""
    messages = DisputeMessage.objects.select_related("author").order_by("created_at", "id")
    dispute = (
        Dispute.objects.select_related("opened_by", "resolved_by", "proposal__conversation__group")
        .prefetch_related(Prefetch("messages", queryset=messages), "evidence_items")
        .filter(_readable_disputes(user), pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise NotFound("No such dispute.")
    return dispute


def _readable_terms(terms: dict) -> dict:
    """The frozen terms (JSON: the due date an ISO string, the pool rule a code) with a
    real date and the rule's label, for the pages to write as they write any other."""
    due = terms["due_date"]
    return {
        **terms,
        "due_date": date.fromisoformat(due) if due else None,
        "pool_split_label": PoolSplit(terms["pool_split"]).label,
    }


def snapshot_sections(items) -> dict:
    """The frozen snapshot as the pages show it: the terms, the tasks, and a timeline of
    the delivery and the messages, oldest first."""
    Topic = DisputeEvidenceItem.Topic
    items = list(items)
    terms = next((item.data for item in items if item.topic == Topic.TERMS), None)
    return {
        "terms": _readable_terms(terms) if terms is not None else None,
        "tasks": [item.data for item in items if item.topic == Topic.TASK],
        "timeline": sorted(
            (item for item in items if item.topic in (Topic.DELIVERY, Topic.MESSAGE)),
            key=lambda item: (item.occurred_at, item.position),
        ),
    }
