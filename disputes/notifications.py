"""Who is told what about disputes.

The dispute services call these inside their transaction, once the dispute and the
proposal are written; `marketplace.core.notifications.notify` stores each notification in
that transaction and e-mails and pushes it after commit.

| event | who | kind |
|---|---|---|
| dispute opened | the other party (buyer or leader) | dispute_opened |
| dispute resolved | the buyer and the leader | dispute_resolved |

What the escrow's movement tells the buyer and the group (refunds, payments, the
proposal completed) comes from `proposals.notifications`, through the transition the
resolution runs.
"""

from marketplace.core.formats import amount_text, money_text
from marketplace.core.notifications import Kind, notify
from proposals.notifications import proposal_data

from .models import Dispute


def dispute_link(dispute: Dispute) -> str:
    return f"/disputes/{dispute.pk}/"


def dispute_opened(*, dispute: Dispute, proposal, actor) -> None:
    """The other party: the leader when the buyer opened it, else the buyer."""
    conversation = proposal.conversation
    buyer_opened = getattr(actor, "pk", None) == conversation.product_owner_id
    other = conversation.group.leader if buyer_opened else conversation.product_owner
    side = "The buyer" if buyer_opened else "The group's leader"
    notify(
        user=other,
        kind=Kind.DISPUTE_OPENED,
        title=f"A dispute was opened on “{proposal.title}”",
        body=(
            f"{side} opened a dispute: {dispute.reason}\nThe escrow of "
            f"{money_text(proposal.price)} is frozen until staff resolve it."
        ),
        link=dispute_link(dispute),
        data=proposal_data(proposal, dispute_id=dispute.pk),
    )


def _outcome_text(dispute: Dispute, price) -> str:
    if dispute.outcome == Dispute.Outcome.REFUND:
        return f"{money_text(price)} was refunded to the buyer."
    if dispute.outcome == Dispute.Outcome.RELEASE:
        return f"The escrow of {money_text(price)} was released to the group."
    return (
        f"{money_text(dispute.refund_amount)} was refunded to the buyer and "
        f"{money_text(price - dispute.refund_amount)} released to the group."
    )


def dispute_resolved(*, dispute: Dispute, proposal) -> None:
    """The buyer and the group's leader: the outcome, to the cent, and the staff note."""
    note = f"\nStaff note: {dispute.resolution_note}" if dispute.resolution_note else ""
    extra = {"dispute_id": dispute.pk, "outcome": dispute.outcome}
    if dispute.refund_amount is not None:
        extra["refund_amount"] = amount_text(dispute.refund_amount)
    conversation = proposal.conversation
    for user in (conversation.product_owner, conversation.group.leader):
        notify(
            user=user,
            kind=Kind.DISPUTE_RESOLVED,
            title=f"The dispute on “{proposal.title}” was resolved",
            body=f"{_outcome_text(dispute, proposal.price)}{note}",
            link=dispute_link(dispute),
            data=proposal_data(proposal, **extra),
        )
