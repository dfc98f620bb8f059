"""The evidence a dispute brings of its own (CONTRACT.md, "Additions"): when it opens, the
proposal's terms, its tasks, the delivery time and the conversation's last 50 messages
are frozen into `DisputeEvidenceItem`s of kind "auto", and the refund the unfinished
points suggest is computed from the same frozen tasks.

`freeze_snapshot` runs inside `dispute_open`'s callback, under the proposal's lock and in
its transaction, so the snapshot is exactly what the proposal was when it was disputed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from djmoney.money import Money

from marketplace.core.formats import amount_text, money_text
from marketplace.core.models import Message
from proposals.models import Task

from .models import DisputeEvidenceItem, DisputeOutcome

if TYPE_CHECKING:
    from proposals.models import Proposal

    from .models import Dispute

SNAPSHOT_MESSAGES = 50
Topic = DisputeEvidenceItem.Topic


def suggested_refund(price: Money, tasks: list[dict]) -> Money | None:
    """`price * (points not done ÷ all points)`, half-up to the cent; None without tasks.
    Integer cents throughout, so the rounding is exact."""
    total = sum(task["points"] for task in tasks)
    if not total:
        return None
    undone = sum(task["points"] for task in tasks if task["status"] != Task.Status.DONE)
    cents, remainder = divmod(int(price.amount * 100) * undone, total)
    if 2 * remainder >= total:
        cents += 1
    return Money(Decimal(cents).scaleb(-2), price.currency)


def _terms(proposal: Proposal) -> dict:
    return {
        "title": proposal.title,
        "price": amount_text(proposal.price),
        "currency": str(proposal.price.currency),
        "platform_fee_rate": str(proposal.platform_fee_rate),
        "leader_commission_rate": str(proposal.leader_commission_rate),
        "due_date": proposal.due_date.isoformat() if proposal.due_date else None,
        # Read loosely: the field arrives with "pool by finished work".
        "pool_split": getattr(proposal, "pool_split", "equal"),
    }


def _tasks(proposal: Proposal) -> list[dict]:
    tasks = Task.objects.filter(proposal=proposal).select_related("assigned_to").order_by("id")
    return [
        {
            "title": task.title,
            "status": task.status,
            "points": getattr(task, "points", 1),
            "assignee": task.assigned_to.username if task.assigned_to else None,
        }
        for task in tasks
    ]


def _last_messages(proposal: Proposal) -> list[Message]:
    latest = (
        Message.objects.filter(conversation_id=proposal.conversation_id)
        .select_related("sender")
        .order_by("-id")[:SNAPSHOT_MESSAGES]
    )
    return list(reversed(latest))


def freeze_snapshot(*, dispute: Dispute, proposal: Proposal) -> None:
    """Write the snapshot's items (terms, tasks, delivery, messages, in that order) and
    the suggested refund onto `dispute`. Three queries and one update."""
    tasks = _tasks(proposal)
    rows = [(Topic.TERMS, None, _terms(proposal))]
    rows += [(Topic.TASK, None, task) for task in tasks]
    if proposal.delivered_at:
        rows.append(
            (
                Topic.DELIVERY,
                proposal.delivered_at,
                {"delivered_at": proposal.delivered_at.isoformat()},
            )
        )
    rows += [
        (
            Topic.MESSAGE,
            message.created_at,
            {"author": message.sender.username if message.sender else None, "body": message.body},
        )
        for message in _last_messages(proposal)
    ]
    DisputeEvidenceItem.objects.bulk_create(
        DisputeEvidenceItem(dispute=dispute, topic=topic, position=i, occurred_at=at, data=data)
        for i, (topic, at, data) in enumerate(rows)
    )
    dispute.suggested_refund_amount = suggested_refund(proposal.price, tasks)
    dispute.save(update_fields=["suggested_refund_amount", "suggested_refund_amount_currency"])


def suggested_resolution(*, dispute: Dispute, price: Money) -> dict | None:
    """The dispute desk's starting point: the suggestion as an outcome (nothing done is a
    refund, everything done a release, anything between a split) and a note recording
    why. None when the dispute has no suggestion."""
    refund = dispute.suggested_refund_amount
    if refund is None:
        return None
    if refund == price:
        outcome, amount = DisputeOutcome.REFUND, None
    elif not refund.amount:
        outcome, amount = DisputeOutcome.RELEASE, None
    else:
        outcome, amount = DisputeOutcome.SPLIT, refund.amount
    note = (
        f"Suggested by the unfinished work frozen at opening: {money_text(refund)} "
        f"of {money_text(price)} back to the buyer."
    )
    return {"outcome": outcome, "refund_amount": amount, "note": note}
