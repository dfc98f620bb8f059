"""Writes of the dispute workflow: open, add evidence, resolve.

Opening and resolving change the proposal's status, so each runs one proposals service
(`proposal_dispute`, `proposal_resolve`), which takes the locks, checks the actor and
the status, moves the escrow and writes the proposal; the state machine, the
conversation's counters and the system messages live there alone. The dispute's own
checks and row ride along as that service's callback, so the dispute is read and written
under the same locks and in the same transaction, in the global lock order: the group,
the proposal, the dispute, the escrow accounts, the conversation. Who is told what is
in `disputes.notifications`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from marketplace.core.errors import Forbidden, InvalidInput, NotFound
from marketplace.core.selectors import group_is_member
from proposals.selectors import proposal_with_parties
from proposals.services import proposal_dispute, proposal_resolve
from proposals.transitions import RESOLVE_DISPUTES, Role, has_role, require_role

from . import events, notifications
from .errors import DisputeClosed, DisputeOpen, InvalidOutcome, InvalidRefundAmount
from .evidence import freeze_snapshot
from .models import Dispute, DisputeMessage

if TYPE_CHECKING:
    from proposals.models import Proposal

Outcome = Dispute.Outcome


def _require_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"{what} is required.", code="invalid")
    return value


def _dispute_for_update(dispute: Dispute | int) -> Dispute:
    pk = getattr(dispute, "pk", dispute)
    try:
        return Dispute.objects.select_for_update().get(pk=pk)
    except Dispute.DoesNotExist:
        raise NotFound(f"Dispute #{pk} does not exist.") from None


def is_dispute_party(*, proposal: Proposal, actor) -> bool:
    """The buyer, and the group's side: its leader and its current members."""
    if has_role(proposal=proposal, role=Role.PARTY, actor=actor):
        return True
    return group_is_member(group_id=proposal.conversation.group_id, user=actor)


@transaction.atomic
def dispute_open(*, proposal: Proposal, actor, reason: str) -> Dispute:
    """The buyer or the group's leader disputes an accepted, in-progress or delivered
    proposal: it becomes `disputed` and its escrow is frozen until staff resolve it.
    The actor (403) and the status (409) are checked first, then the reason (400). The
    dispute's own evidence (`disputes.evidence`) is frozen under the same locks."""
    dispute = None

    def record(proposal: Proposal) -> None:
        nonlocal dispute
        text = _require_text(reason, "A reason")
        # A proposal with an open dispute is `disputed`, which the status check refuses;
        # the partial unique index is the database's own guarantee.
        try:
            with transaction.atomic():
                dispute = Dispute.objects.create(
                    proposal=proposal,
                    opened_by=actor,
                    reason=text,
                    proposal_status_before=proposal.status,
                )
        except IntegrityError:
            raise DisputeOpen("This proposal already has an open dispute.") from None
        freeze_snapshot(dispute=dispute, proposal=proposal)

    proposal = proposal_dispute(proposal=proposal, actor=actor, require=record)
    notifications.dispute_opened(dispute=dispute, proposal=proposal, actor=actor)
    events.on_commit_dispute_changed(dispute)
    return dispute


@transaction.atomic
def dispute_add_message(*, dispute: Dispute, actor, body: str) -> DisputeMessage:
    """Evidence from a party (the buyer, the group's leader or members) or the support
    role, while the dispute is open."""
    dispute = _dispute_for_update(dispute)
    proposal = proposal_with_parties(proposal_id=dispute.proposal_id)
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


def _refund_for(outcome: str, refund_amount: Money | None, proposal: Proposal) -> Money | None:
    """The amount the buyer gets back: all of it, none of it, or a split's part, which
    must be one the proposal's escrow can split (`Proposal.split_refund_problem`)."""
    if outcome != Outcome.SPLIT:
        if refund_amount is not None:
            raise InvalidRefundAmount("Only a split takes a refund amount.")
        return proposal.price if outcome == Outcome.REFUND else None
    problem = proposal.split_refund_problem(refund_amount)
    if problem is not None:
        raise InvalidRefundAmount(problem)
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
    who take no part in the proposal; then the outcome (400); then, under the locks, the
    dispute still open (409 `dispute_closed`) and the refund (400)."""
    dispute_require_resolver(proposal=dispute.proposal, actor=actor)
    if outcome not in Outcome.values:
        raise InvalidOutcome(f"Outcome must be one of {', '.join(Outcome.values)}.")
    refund = None

    def open_with_a_valid_refund(proposal: Proposal) -> None:
        # Under the proposal's lock, after `proposal_resolve` checked the actor again.
        nonlocal dispute, refund
        dispute = _dispute_for_update(dispute)
        if dispute.status != Dispute.Status.OPEN:
            raise DisputeClosed("This dispute is already resolved.")
        refund = _refund_for(outcome, refund_amount, proposal)

    proposal = proposal_resolve(
        proposal=dispute.proposal_id,
        actor=actor,
        outcome=outcome,
        refund_amount=refund_amount,
        guard=open_with_a_valid_refund,
    )
    dispute.status = Dispute.Status.RESOLVED
    dispute.outcome = outcome
    dispute.refund_amount = refund
    dispute.resolution_note = (note or "").strip()
    dispute.resolved_by = actor
    dispute.resolved_at = timezone.now()
    dispute.save()
    notifications.dispute_resolved(dispute=dispute, proposal=proposal)
    events.on_commit_dispute_changed(dispute)
    return dispute
