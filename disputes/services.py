"""Writes of the dispute workflow: open, add evidence, resolve.

Disputes change the proposal's status through the proposals app's building blocks
(`proposal_lock`, `transition_check`, `transition_apply`), so the state machine, the
conversation's counters and the system messages live in one place. Lock order: the
proposal row first, then the dispute row, then whatever the escrow services lock.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from escrow.money import CENT
from marketplace.core.errors import Forbidden, InvalidInput, NotFound
from proposals import notifications
from proposals.models import Proposal
from proposals.selectors import is_group_member
from proposals.transitions import (
    RESOLVE_DISPUTES,
    Role,
    has_role,
    proposal_lock,
    refund_escrow,
    release_escrow,
    require_role,
    settle_escrow,
    transition_apply,
    transition_check,
)

from . import events
from .errors import DisputeClosed, DisputeOpen, InvalidOutcome, InvalidRefundAmount
from .models import Dispute, DisputeMessage

Outcome = Dispute.Outcome
_RESOLVE_ACTION = {
    Outcome.REFUND: "resolve_refund",
    Outcome.RELEASE: "resolve_release",
    Outcome.SPLIT: "resolve_split",
}


def _require_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} is required.", code="invalid")
    return value


def _lock_dispute(dispute: Dispute | int) -> Dispute:
    pk = getattr(dispute, "pk", dispute)
    try:
        return Dispute.objects.select_for_update().get(pk=pk)
    except Dispute.DoesNotExist:
        raise NotFound(f"Dispute #{pk} does not exist.") from None


def is_dispute_party(*, proposal: Proposal, actor) -> bool:
    """The buyer, and the group's side: its leader and its current members."""
    if has_role(proposal=proposal, role=Role.PARTY, actor=actor):
        return True
    return is_group_member(
        group_id=proposal.conversation.group_id, user_id=getattr(actor, "pk", None)
    )


@transaction.atomic
def dispute_open(*, proposal: Proposal, actor, reason: str) -> Dispute:
    """The buyer or the group's leader disputes an accepted, in-progress or delivered
    proposal: it becomes `disputed` and its escrow is frozen until staff resolve it."""
    proposal = proposal_lock(proposal)
    transition_check(proposal=proposal, action="dispute", actor=actor)
    reason = _require_text(reason, "A reason")
    # A proposal with an open dispute is `disputed`, which the check above refuses; the
    # partial unique index is the database's own guarantee.
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                proposal=proposal,
                opened_by=actor,
                reason=reason,
                proposal_status_before=proposal.status,
            )
    except IntegrityError:
        raise DisputeOpen("This proposal already has an open dispute.") from None
    transition_apply(proposal=proposal, action="dispute", actor=actor)
    notifications.dispute_opened(dispute=dispute, proposal=proposal, actor=actor)
    events.on_commit_dispute_changed(dispute)
    return dispute


@transaction.atomic
def dispute_add_message(*, dispute: Dispute, actor, body: str) -> DisputeMessage:
    """Evidence from a party (the buyer, the group's leader or members) or the support
    role, while the dispute is open."""
    dispute = _lock_dispute(dispute)
    proposal = Proposal.objects.select_related("conversation__group").get(pk=dispute.proposal_id)
    if not (
        has_role(proposal=proposal, role=RESOLVE_DISPUTES, actor=actor)
        or is_dispute_party(proposal=proposal, actor=actor)
    ):
        raise Forbidden("Only the parties to the dispute and staff can add evidence.")
    if dispute.status != Dispute.Status.OPEN:
        raise DisputeClosed("This dispute is resolved.")
    body = _require_text(body, "A message")
    message = DisputeMessage.objects.create(dispute=dispute, author=actor, body=body)
    events.on_commit_dispute_changed(dispute)
    return message


def dispute_require_resolver(*, proposal: Proposal, actor) -> None:
    """403 unless `actor` may resolve disputes of `proposal`: the support role, taking no
    part in it. `dispute_resolve` asks it first; the API asks it too before it reads the
    request's body, so nobody learns from a validation error what they may not do."""
    require_role(
        proposal=proposal, role=RESOLVE_DISPUTES, actor=actor, doing="resolve this dispute"
    )


def _refund_for(outcome: str, refund_amount: Money | None, price: Money) -> Money | None:
    """The amount the buyer gets back: all of it, none of it, or a split's part."""
    if outcome != Outcome.SPLIT:
        if refund_amount is not None:
            raise InvalidRefundAmount("Only a split takes a refund amount.")
        return price if outcome == Outcome.REFUND else None
    if not isinstance(refund_amount, Money):
        raise InvalidRefundAmount("A split needs a refund amount.")
    if str(refund_amount.currency) != str(price.currency):
        raise InvalidRefundAmount(f"The refund must be in {price.currency}.")
    amount = refund_amount.amount
    # The bounds first: an absurd amount (1e30) must not reach the rounding.
    if not 0 < amount < price.amount or amount != amount.quantize(CENT):
        raise InvalidRefundAmount(
            f"A split refunds more than 0 and less than the price, {price.amount} "
            f"{price.currency}, to the cent."
        )
    return refund_amount


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    actor,
    outcome: str,
    note: str = "",
    refund_amount: Money | None = None,
) -> Dispute:
    """The support role settles the dispute: `refund` gives the buyer everything back
    (proposal `refunded`), `release` pays the group as a confirmation would (`completed`),
    `split` refunds `refund_amount` and releases the rest under the proposal's rates
    (`settled`). Who may resolve is checked first (403), before any input: support staff
    who take no part in the proposal."""
    proposal = proposal_lock(dispute.proposal_id)
    dispute = _lock_dispute(dispute)
    dispute_require_resolver(proposal=proposal, actor=actor)
    if dispute.status != Dispute.Status.OPEN:
        raise DisputeClosed("This dispute is already resolved.")
    if outcome not in _RESOLVE_ACTION:
        raise InvalidOutcome(f"Outcome must be one of {', '.join(Outcome.values)}.")
    action = _RESOLVE_ACTION[outcome]
    transition_check(proposal=proposal, action=action, actor=actor)
    refund = _refund_for(outcome, refund_amount, proposal.price)
    note = (note or "").strip()

    if outcome == Outcome.REFUND:
        refund_escrow(proposal=proposal, actor=actor)
    elif outcome == Outcome.RELEASE:
        release_escrow(proposal=proposal, actor=actor)
    else:
        settle_escrow(proposal=proposal, refund_amount=refund, actor=actor)

    dispute.status = Dispute.Status.RESOLVED
    dispute.outcome = outcome
    dispute.refund_amount = refund
    dispute.resolution_note = note
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.save()
    split_note = ""
    if outcome == Outcome.SPLIT:
        split_note = f"{refund.amount} {refund.currency} refunded to the buyer, the rest released."
    transition_apply(
        proposal=proposal,
        action=action,
        actor=actor,
        note=split_note,
        escrow_amount=Money(0, proposal.price.currency),
    )
    notifications.dispute_resolved(dispute=dispute, proposal=proposal)
    events.on_commit_dispute_changed(dispute)
    return dispute
