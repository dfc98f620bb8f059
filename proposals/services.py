"""The use cases of the proposal workflow, one function each: the buyer's and the
leader's moves, the automatic release, and staff settling escrow by hand. Each runs
through the state machine of `proposals.transitions` (lock, check, write).
"""

import logging
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from escrow.errors import CurrencyMismatch
from escrow.money import Rates, fee_breakdown, parse_amount
from escrow.selectors import group_wallet_get, wallet_get
from escrow.services import escrow_lock
from marketplace.core.errors import Conflict, Forbidden, InvalidInput
from marketplace.core.models import Conversation

from . import notifications
from .errors import AutoReleaseNotDue, InvalidTransition, ProposalOpen
from .models import Proposal
from .selectors import group_member_ids
from .transitions import (
    TRANSITIONS,
    Role,
    announce_in_chat,
    proposal_lock,
    refund_escrow,
    release_escrow,
    require_role,
    transition_apply,
    transition_check,
    transition_run,
    update_conversation_counters,
)

S = Proposal.Status
logger = logging.getLogger("proposals.operations")


# --- the use cases ------------------------------------------------------------------

_OPEN_CONSTRAINT = "one_open_proposal_per_conversation"


def _is_open_conflict(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name is not None:
        return name == _OPEN_CONSTRAINT
    return _OPEN_CONSTRAINT in str(error) or "project_proposals.conversation_id" in str(error)


def _require_payable(price: Money, conversation: Conversation) -> None:
    """Refuse (400 `currency_mismatch`) a price the buyer could never accept: wallets hold
    one currency each, and escrow moves money between wallets of the same currency."""
    currency = str(price.currency)
    wallets = (
        wallet_get(user=conversation.product_owner),
        group_wallet_get(group=conversation.group),
    )
    if any(wallet.currency != currency for wallet in wallets):
        message = f"The buyer's and the group's wallets hold {wallets[0].currency}, not {currency}."
        raise CurrencyMismatch(message, fields={"currency": [message]})


@transaction.atomic
def proposal_create(
    *,
    conversation: Conversation,
    actor,
    title: str,
    description: str = "",
    price: Money,
    due_date: date | None = None,
) -> Proposal:
    """The group's leader offers `price` for the work; the fee breakdown is frozen with
    the rates now in force. One open proposal per conversation (409 `proposal_open`)."""
    conversation = Conversation.objects.select_related("group", "product_owner").get(
        pk=conversation.pk
    )
    if getattr(actor, "pk", None) != conversation.group.leader_id:
        raise Forbidden("Only the group's leader can send a proposal.")
    if not isinstance(price, Money):
        raise InvalidInput("The price must be an amount of money.", code="invalid_amount")
    price = parse_amount(price.amount, str(price.currency))
    _require_payable(price, conversation)
    title = (title or "").strip()
    if not title or len(title) > Proposal._meta.get_field("title").max_length:
        raise InvalidInput("A title of 1 to 200 characters is required.", code="invalid_title")
    if Proposal.objects.filter(
        conversation=conversation, is_legacy=False, status__in=Proposal.OPEN
    ).exists():
        raise ProposalOpen("This conversation already has an open proposal.")

    rates = Rates.current()
    breakdown = fee_breakdown(price, rates)
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                conversation=conversation,
                created_by=actor,
                title=title,
                description=description or "",
                price=price,
                due_date=due_date,
                platform_fee_rate=rates.platform_fee,
                leader_commission_rate=rates.leader_commission,
                platform_fee=breakdown.platform_fee,
                leader_commission=breakdown.leader_commission,
                member_pool=breakdown.member_pool,
                escrow_amount=Money(0, price.currency),
            )
    except IntegrityError as error:
        # A concurrent create won the race that the check above could not see.
        if _is_open_conflict(error):
            raise ProposalOpen("This conversation already has an open proposal.") from None
        raise
    update_conversation_counters(proposal, created=True)
    announce_in_chat(proposal, "New proposal “{title}” for {price}.")
    notifications.proposal_created(proposal)
    return proposal


@transaction.atomic
def proposal_accept(*, proposal: Proposal, actor) -> Proposal:
    """The buyer accepts: the price moves from their available balance into escrow
    (409 `insufficient_funds` otherwise, and nothing changes), and the group's members
    at this moment become the proposal's participants."""
    proposal = proposal_lock(proposal)
    transition_check(proposal=proposal, action="accept", actor=actor)
    conversation = proposal.conversation
    hold = escrow_lock(
        buyer=actor,
        group=conversation.group,
        amount=proposal.price,
        idempotency_key=f"proposal:{proposal.pk}",
        actor=actor,
    )
    proposal.participants.set(group_member_ids(group_id=conversation.group_id))
    return transition_apply(
        proposal=proposal,
        action="accept",
        actor=actor,
        escrow_hold=hold,
        escrow_amount=proposal.price,
    )


@transaction.atomic
def proposal_reject(*, proposal: Proposal, actor) -> Proposal:
    return transition_run(proposal, "reject", actor)


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, actor) -> Proposal:
    return transition_run(proposal, "withdraw", actor)


@transaction.atomic
def proposal_start(*, proposal: Proposal, actor) -> Proposal:
    return transition_run(proposal, "start", actor)


@transaction.atomic
def proposal_deliver(*, proposal: Proposal, actor) -> Proposal:
    return transition_run(proposal, "deliver", actor)


@transaction.atomic
def proposal_request_changes(*, proposal: Proposal, actor, note: str = "") -> Proposal:
    return transition_run(proposal, "request_changes", actor, note=(note or "").strip())


@transaction.atomic
def proposal_confirm(*, proposal: Proposal, actor) -> Proposal:
    """The buyer confirms delivery: the escrow is released (10 % platform, 3 % leader,
    87 % among the participants still in the group). A disputed proposal is frozen."""
    proposal = proposal_lock(proposal)
    transition_check(proposal=proposal, action="confirm", actor=actor)
    release_escrow(proposal=proposal, actor=actor)
    return transition_apply(
        proposal=proposal,
        action="confirm",
        actor=actor,
        escrow_amount=Money(0, proposal.price.currency),
    )


@transaction.atomic
def proposal_cancel(*, proposal: Proposal, actor) -> Proposal:
    """The leader calls the deal off after acceptance: the buyer gets everything back."""
    proposal = proposal_lock(proposal)
    transition_check(proposal=proposal, action="cancel", actor=actor)
    refund_escrow(proposal=proposal, actor=actor)
    return transition_apply(
        proposal=proposal,
        action="cancel",
        actor=actor,
        escrow_amount=Money(0, proposal.price.currency),
    )


@transaction.atomic
def proposal_auto_release(*, proposal: Proposal, now: datetime | None = None) -> Proposal:
    """Confirm on the silent buyer's behalf once `ESCROW_AUTO_RELEASE_DAYS` have passed
    since delivery; the scheduled job calls it for each proposal of
    `selectors.proposals_due_for_auto_release`. Not due yet: 409 `auto_release_not_due`;
    disputed: frozen (409 `invalid_transition`), like a confirmation."""
    proposal = proposal_lock(proposal)
    transition_check(proposal=proposal, action="auto_release", actor=None)
    days = settings.ESCROW_AUTO_RELEASE_DAYS
    if (now or timezone.now()) < proposal.auto_release_at:
        raise AutoReleaseNotDue(f"The buyer has until {proposal.auto_release_at} to confirm.")
    release_escrow(proposal=proposal, actor=None)
    return transition_apply(
        proposal=proposal,
        action="auto_release",
        actor=None,
        note=f"{days} days after delivery",
        escrow_amount=Money(0, proposal.price.currency),
    )


AUTO_RELEASE_MAX_EXTENSION_DAYS = 7


@transaction.atomic
def proposal_extend_auto_release(*, proposal: Proposal, actor, days: int) -> Proposal:
    """The buyer of a delivered proposal pushes its automatic release back by 1 to 7
    days, once per proposal (409 `auto_release_already_extended` after that)."""
    proposal = proposal_lock(proposal)
    require_role(
        proposal=proposal, role=Role.BUYER, actor=actor, doing="extend the automatic release"
    )
    limit = AUTO_RELEASE_MAX_EXTENSION_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        message = f"Days must be a whole number from 1 to {limit}."
        raise InvalidInput(message, code="invalid_days", fields={"days": [message]})
    if proposal.auto_release_at is None:
        raise InvalidTransition(f"Cannot extend the release of a {proposal.status} proposal.")
    if proposal.auto_release_extended_until is not None:
        raise Conflict(
            "The automatic release was already extended once.",
            code="auto_release_already_extended",
        )
    proposal.auto_release_extended_until = proposal.auto_release_at + timedelta(days=days)
    proposal.save(update_fields=["auto_release_extended_until", "updated_at"])
    until = proposal.auto_release_extended_until
    announce_in_chat(
        proposal,
        "The buyer extended the automatic release of “{title}” {note}.",
        note=f"by {days} days, to {until:%Y-%m-%d %H:%M} UTC",
    )
    return proposal


def _staff_settle(*, proposal, action: str, actor, reason: str, move):
    """Release or refund an undisputed proposal's escrow by hand: the finance role's
    power (`TRANSITIONS[action].role`), never over a proposal the staff user takes part
    in, and a reason, which the system message and the log keep."""
    proposal = proposal_lock(proposal)
    doing = f"{action.replace('_', ' ')} this proposal"
    require_role(proposal=proposal, role=TRANSITIONS[action].role, actor=actor, doing=doing)
    if proposal.status == S.DISPUTED:
        raise InvalidTransition("This proposal is disputed: resolve it at the dispute desk.")
    transition_check(proposal=proposal, action=action, actor=actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A reason is required.", code="reason_required")
    move(proposal=proposal, actor=actor)
    return transition_apply(
        proposal=proposal,
        action=action,
        actor=actor,
        note=reason,
        escrow_amount=Money(0, proposal.price.currency),
    )


@transaction.atomic
def proposal_release_by_staff(*, proposal: Proposal, actor, reason: str) -> Proposal:
    """Staff pay an accepted, in-progress or delivered proposal's escrow out, as a
    confirmation would (`completed`)."""
    return _staff_settle(
        proposal=proposal,
        action="staff_release",
        actor=actor,
        reason=reason,
        move=release_escrow,
    )


@transaction.atomic
def proposal_refund_by_staff(*, proposal: Proposal, actor, reason: str) -> Proposal:
    """Staff give an accepted, in-progress or delivered proposal's escrow back to the
    buyer (`refunded`)."""
    return _staff_settle(
        proposal=proposal,
        action="staff_refund",
        actor=actor,
        reason=reason,
        move=refund_escrow,
    )
