"""The proposal state machine and its building blocks, shared by the use cases of
`proposals.services`, `proposals.task_services` and the disputes app.

Every transition runs in one transaction and goes through the same three steps:

1. `proposal_lock` — share-lock the group (who leads it and who is in it decide who is
   paid) and lock the proposal row (`SELECT ... FOR UPDATE`) before any other row. The
   global lock order is: the group, the proposal, then its dispute (disputes app), then
   the escrow accounts in `escrow.locking`'s order, and last the conversation row, which
   `transition_apply` updates (counters) at the end.
2. `transition_check` — on the fresh locked row, check who may do it and whether the
   status allows it, both read from the one table `TRANSITIONS`.
3. Only then write: money through the escrow services (`release_escrow`, ...), then
   `transition_apply` — status, timestamps, the conversation's counters, a system message
   in the chat, and `events.proposal_changed` once the transaction commits.

A refusal raises a `DomainError` before anything is written, so it changes nothing.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.db.models import Case, F, Value, When
from django.utils import timezone
from djmoney.money import Money

from escrow.locking import require_transaction
from escrow.services import escrow_refund, escrow_release, escrow_settle
from marketplace.core.errors import Forbidden, NotFound
from marketplace.core.models import Conversation
from marketplace.core.roles import has_staff_power, require_staff_power
from marketplace.core.services import group_hold_membership, message_create

from . import events, notifications
from .errors import InvalidTransition
from .models import Proposal
from .selectors import proposal_payees, takes_part

S = Proposal.Status
logger = logging.getLogger("proposals.operations")


class Role(StrEnum):
    BUYER = "buyer"  # the conversation's product owner
    LEADER = "leader"  # whoever leads the group now
    PARTY = "party"  # the buyer or the leader
    SYSTEM = "system"  # an automatic step; the caller has authorized the actor itself


@dataclass(frozen=True)
class StaffPower:
    """A staff role's power over proposals: active staff holding `permission`, who take
    no part in the proposal (`takes_part`): nobody judges or pays their own case."""

    permission: str
    name: str


# The support role resolves disputes; the finance role settles undisputed deals by hand.
RESOLVE_DISPUTES = StaffPower("disputes.resolve_dispute", "support staff")
RELEASE_ESCROW = StaffPower("proposals.release_escrow", "finance staff")
REFUND_ESCROW = StaffPower("proposals.refund_escrow", "finance staff")


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    role: Role | StaffPower
    # Timestamp fields set to now ("started_at" only if still empty: it is the first start).
    stamps: tuple[str, ...]
    # The system message posted in the conversation; formatted with the proposal's fields.
    message: str


def _t(sources, target, role, stamps, message) -> Transition:
    return Transition(frozenset(sources), target, role, tuple(stamps), message)


# The state machine, in one place. Anything not listed here is an `invalid_transition`.
TRANSITIONS: dict[str, Transition] = {
    "accept": _t(
        [S.PENDING],
        S.ACCEPTED,
        Role.BUYER,
        ["accepted_at"],
        "Proposal “{title}” was accepted: {price} is held in escrow.",
    ),
    "reject": _t(
        [S.PENDING], S.REJECTED, Role.BUYER, ["rejected_at"], "Proposal “{title}” was rejected."
    ),
    "withdraw": _t(
        [S.PENDING],
        S.WITHDRAWN,
        Role.LEADER,
        ["withdrawn_at"],
        "Proposal “{title}” was withdrawn.",
    ),
    "start": _t(
        [S.ACCEPTED],
        S.IN_PROGRESS,
        Role.LEADER,
        ["started_at"],
        "Work on “{title}” has started.",
    ),
    # A task moving to in_progress starts the proposal; task_update authorizes the actor.
    "auto_start": _t(
        [S.ACCEPTED],
        S.IN_PROGRESS,
        Role.SYSTEM,
        ["started_at"],
        "Work on “{title}” has started.",
    ),
    "deliver": _t(
        [S.ACCEPTED, S.IN_PROGRESS],
        S.DELIVERED,
        Role.LEADER,
        ["delivered_at"],
        "“{title}” was delivered: the buyer can confirm it or request changes.",
    ),
    "request_changes": _t(
        [S.DELIVERED],
        S.IN_PROGRESS,
        Role.BUYER,
        ["started_at"],
        "The buyer requested changes to “{title}”: {note}",
    ),
    "confirm": _t(
        [S.DELIVERED],
        S.COMPLETED,
        Role.BUYER,
        ["completed_at"],
        "“{title}” is complete: the escrow of {price} was released.",
    ),
    # The scheduled job confirms for a silent buyer ESCROW_AUTO_RELEASE_DAYS after delivery.
    "auto_release": _t(
        [S.DELIVERED],
        S.COMPLETED,
        Role.SYSTEM,
        ["completed_at"],
        "“{title}” was confirmed automatically {note}: the escrow of {price} was released.",
    ),
    "cancel": _t(
        [S.ACCEPTED, S.IN_PROGRESS],
        S.CANCELLED,
        Role.LEADER,
        ["cancelled_at"],
        "Proposal “{title}” was cancelled: {price} was refunded to the buyer.",
    ),
    "dispute": _t(
        [S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED],
        S.DISPUTED,
        Role.PARTY,
        ["disputed_at"],
        "A dispute was opened on “{title}”: the escrow is frozen until staff resolve it.",
    ),
    "resolve_refund": _t(
        [S.DISPUTED],
        S.REFUNDED,
        RESOLVE_DISPUTES,
        ["resolved_at"],
        "The dispute on “{title}” was resolved: {price} was refunded to the buyer.",
    ),
    "resolve_release": _t(
        [S.DISPUTED],
        S.COMPLETED,
        RESOLVE_DISPUTES,
        ["completed_at", "resolved_at"],
        "The dispute on “{title}” was resolved: the escrow of {price} was released.",
    ),
    "resolve_split": _t(
        [S.DISPUTED],
        S.SETTLED,
        RESOLVE_DISPUTES,
        ["resolved_at"],
        "The dispute on “{title}” was resolved with a split: {note}",
    ),
    # Staff (the finance role) settle an undisputed deal by hand from the admin; a
    # disputed one is resolved at the dispute desk instead.
    "staff_release": _t(
        [S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED],
        S.COMPLETED,
        RELEASE_ESCROW,
        ["completed_at"],
        "Staff released the escrow of {price} for “{title}”: {note}",
    ),
    "staff_refund": _t(
        [S.ACCEPTED, S.IN_PROGRESS, S.DELIVERED],
        S.REFUNDED,
        REFUND_ESCROW,
        ["resolved_at"],
        "Staff refunded {price} to the buyer for “{title}”: {note}",
    ),
}
_FIRST_ONLY = {"started_at"}
_ROLE_NAMES = {
    Role.BUYER: "the buyer",
    Role.LEADER: "the group's leader",
    Role.PARTY: "the buyer or the group's leader",
}


# --- the building blocks (also used by disputes) -------------------------------------


def proposal_lock(proposal: Proposal | int) -> Proposal:
    """Hold the proposal's group steady (`group_hold_membership`), then lock the
    proposal's row and return it fresh from the database, with its conversation and
    group loaded. Must be the transaction's first lock: the global order is the group,
    the proposal, its dispute, the escrow accounts (`escrow.locking`), the conversation."""
    require_transaction()
    pk = getattr(proposal, "pk", proposal)
    # A proposal's group never changes, so reading it before the lock is safe.
    group_id = (
        Proposal.objects.filter(pk=pk).values_list("conversation__group_id", flat=True).first()
    )
    if group_id is None:
        raise NotFound(f"Proposal #{pk} does not exist.")
    group_hold_membership(group_id=group_id)
    try:
        return (
            Proposal.objects.select_for_update(of=("self",))
            .select_related("conversation__group")
            .get(pk=pk)
        )
    except Proposal.DoesNotExist:  # deleted with its group while we waited
        raise NotFound(f"Proposal #{pk} does not exist.") from None


def has_role(*, proposal: Proposal, role: Role | StaffPower, actor) -> bool:
    if role == Role.SYSTEM:
        return True
    actor_id = getattr(actor, "pk", None)
    if actor_id is None:
        return False
    if isinstance(role, StaffPower):
        return has_staff_power(actor, role.permission) and not takes_part(
            proposal=proposal, user=actor
        )
    conversation = proposal.conversation
    if role == Role.BUYER:
        return actor_id == conversation.product_owner_id
    if role == Role.LEADER:
        return actor_id == conversation.group.leader_id
    if role == Role.PARTY:
        return actor_id in (conversation.product_owner_id, conversation.group.leader_id)
    return False


def require_role(*, proposal: Proposal, role: Role | StaffPower, actor, doing: str) -> None:
    """403 unless `actor` has `role` on `proposal`; a staff user who takes part in the
    proposal is told so."""
    if isinstance(role, StaffPower):
        require_staff_power(
            actor,
            role.permission,
            doing=doing,
            party=takes_part(proposal=proposal, user=actor),
        )
    elif not has_role(proposal=proposal, role=role, actor=actor):
        raise Forbidden(f"Only {_ROLE_NAMES[role]} can {doing}.")


def transition_check(*, proposal: Proposal, action: str, actor) -> Transition:
    """Refuse unless `actor` may perform `action` on the locked `proposal` in its current
    status: 403 `permission_denied` for the wrong actor, 409 `invalid_transition` for the
    wrong status."""
    transition = TRANSITIONS[action]
    doing = f"{action.replace('_', ' ')} this proposal"
    require_role(proposal=proposal, role=transition.role, actor=actor, doing=doing)
    if proposal.is_legacy:
        raise InvalidTransition("A proposal of the old system cannot change status.")
    if proposal.status not in transition.sources:
        raise InvalidTransition(
            f"Cannot {action.replace('_', ' ')} a proposal that is {proposal.status}."
        )
    return transition


def transition_apply(*, proposal: Proposal, action: str, actor, note: str = "", **fields):
    """Write a transition that `transition_check` allowed on a proposal locked by
    `proposal_lock`: the new status and its timestamps, any other `fields`, the
    conversation's counters, a system message in the chat, and the `proposal_changed`
    event after commit. Money moves before this, by the caller."""
    transition = TRANSITIONS[action]
    now = timezone.now()
    previous = proposal.status
    proposal.status = transition.target
    for stamp in transition.stamps:
        if stamp not in _FIRST_ONLY or getattr(proposal, stamp) is None:
            setattr(proposal, stamp, now)
    for name, value in fields.items():
        setattr(proposal, name, value)
    proposal.save()
    update_conversation_counters(proposal)
    announce_in_chat(proposal, transition.message, note=note)
    notifications.proposal_transitioned(proposal=proposal, action=action, actor=actor, note=note)
    logger.info(
        "proposal.%s",
        action,
        extra={
            "proposal_id": proposal.pk,
            "actor_id": getattr(actor, "pk", None),
            "from_status": previous,
            "to_status": proposal.status,
        },
    )
    return proposal


def release_escrow(*, proposal: Proposal, actor) -> None:
    """Pay the whole escrow out: platform fee, the current leader's commission, and the
    member pool among the participants still in the group. Expects the proposal locked."""
    leader, members = proposal_payees(proposal=proposal)
    legs = escrow_release(
        hold=proposal.escrow_hold,
        leader=leader,
        members=members,
        rates=proposal.rates,
        idempotency_key=f"proposal:{proposal.pk}",
        actor=actor,
    )
    notifications.escrow_paid_out(proposal=proposal, legs=legs)


def refund_escrow(*, proposal: Proposal, actor) -> None:
    """Give the whole escrow back to the buyer. Expects the proposal locked."""
    legs = escrow_refund(
        hold=proposal.escrow_hold, idempotency_key=f"proposal:{proposal.pk}", actor=actor
    )
    notifications.escrow_paid_out(proposal=proposal, legs=legs)


def settle_escrow(*, proposal: Proposal, refund_amount: Money, actor) -> None:
    """Refund `refund_amount` to the buyer and release the rest as `release_escrow` does.
    Expects the proposal locked."""
    leader, members = proposal_payees(proposal=proposal)
    legs = escrow_settle(
        hold=proposal.escrow_hold,
        refund_amount=refund_amount,
        leader=leader,
        members=members,
        rates=proposal.rates,
        idempotency_key=f"proposal:{proposal.pk}",
        actor=actor,
    )
    notifications.escrow_paid_out(proposal=proposal, legs=legs)


def update_conversation_counters(proposal: Proposal, *, created: bool = False) -> None:
    """Keep the conversation's counters in step, in the same transaction."""
    if proposal.status in Proposal.OPEN:
        active = Value(proposal.pk)
    else:
        active = Case(
            When(active_proposal_id=proposal.pk, then=Value(None)),
            default=F("active_proposal_id"),
            output_field=models.BigIntegerField(),
        )
    changes = {"active_proposal_id": active}
    if created:
        changes["total_proposals"] = F("total_proposals") + 1
    if proposal.status == S.COMPLETED:
        changes["total_completed_projects"] = F("total_completed_projects") + 1
    Conversation.objects.filter(pk=proposal.conversation_id).update(**changes)
    proposal.conversation.refresh_from_db(
        fields=["active_proposal_id", "total_proposals", "total_completed_projects"]
    )


def announce_in_chat(proposal: Proposal, template: str, *, note: str = "") -> None:
    body = template.format(
        title=proposal.title,
        price=f"{proposal.price.amount} {proposal.price.currency}",
        note=note,
    ).strip()
    message_create(
        conversation=proposal.conversation,
        sender=None,
        body=body,
        metadata={"type": "proposal", "proposal_id": proposal.pk, "status": proposal.status},
    )
    events.on_commit_proposal_changed(proposal)


def transition_run(proposal: Proposal | int, action: str, actor, **fields) -> Proposal:
    """A transition that moves no money: lock, check, apply."""
    proposal = proposal_lock(proposal)
    transition_check(proposal=proposal, action=action, actor=actor)
    return transition_apply(proposal=proposal, action=action, actor=actor, **fields)
