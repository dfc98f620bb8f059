"""Reads of the dispute workflow that the API and the pages share."""

from django.db.models import Prefetch, Q

from marketplace.core.errors import NotFound
from marketplace.core.roles import has_staff_power
from proposals.selectors import readable_by
from proposals.transitions import RESOLVE_DISPUTES

from .models import Dispute, DisputeMessage


def _readable_disputes(user) -> Q:
    if has_staff_power(user, RESOLVE_DISPUTES.permission):
        return Q()
    return readable_by(user, "proposal__")


def dispute_get(*, dispute_id, user) -> Dispute:
    """A dispute `user` may read: the parties (the buyer and the group's current members,
    the leader included) and the support role; anyone else is told it does not exist. Its
    evidence comes with it, oldest first, authors loaded: two queries however long it is.
    The API and the pages both ask this, so they cannot disagree."""
    messages = DisputeMessage.objects.select_related("author").order_by("created_at", "id")
    dispute = (
        Dispute.objects.select_related("opened_by", "resolved_by", "proposal__conversation__group")
        .prefetch_related(Prefetch("messages", queryset=messages))
        .filter(_readable_disputes(user), pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise NotFound("No such dispute.")
    return dispute
