"""Reads of the dispute workflow that the API and the pages share."""

from django.db.models import Prefetch

from marketplace.errors import NotFound
from proposals.selectors import readable_by

from .models import Dispute, DisputeMessage


def dispute_get(*, dispute_id, user) -> Dispute:
    """A dispute `user` may read: the parties (the buyer and the group's current members,
    the leader included) and staff; anyone else is told it does not exist. Its evidence
    comes with it, oldest first, authors loaded: two queries however long it is."""
    messages = DisputeMessage.objects.select_related("author").order_by("created_at", "id")
    dispute = (
        Dispute.objects.select_related("opened_by", "resolved_by", "proposal")
        .prefetch_related(Prefetch("messages", queryset=messages))
        .filter(readable_by(user, "proposal__"), pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise NotFound("No such dispute.")
    return dispute
