"""The proposal state machine: the table of transitions and the one runner that performs
them. Every change of a proposal's status goes through `transition_run`, called by the
use cases of `proposals.services` (the disputes app calls
those services, never this module's steps).

`transition_run` performs one transition in the caller's transaction, in this order:

1. `proposal_for_update` — share-lock the group (who leads it and who is in it decide who is
   paid) and lock the proposal row (`SELECT ... FOR UPDATE`) before any other row. The
   global lock order is: the group, the proposal, then its dispute (the disputes app's
   callbacks), then the escrow accounts in `escrow.locking`'s order, and last the
   conversation row, whose counters `transition_apply` updates at the end.
2. `transition_check` — on the fresh locked row: who may do it (403), the caller's own
   `guard` if any, then whether the status allows it (409), all but the guard read from
   the one table `TRANSITIONS`.
3. The caller's `require`, if any: its other preconditions (a reason, the release time,
   ...), and the rows of its own that must be written under these locks.
4. The escrow movement the transition names (`Escrow`), through the escrow services,
   under the idempotency key `proposal:<id>`.
5. `transition_apply` — status, timestamps, the escrow fields, the conversation's
   counters, a system message in the chat, the notifications, and
   `events.proposal_changed` once the transaction commits.

A refusal raises a `DomainError` before anything is written, so it changes nothing.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.utils import timezone
from djmoney.money import Money

from escrow.locking import require_transaction
from escrow.services import escrow_lock, escrow_refund, escrow_release, escrow_settle
from marketplace.core.errors import Forbidden, NotFound
from marketplace.core.formats import money_text
from marketplace.core.roles import has_staff_power, require_staff_power
from marketplace.core.selectors import group_member_ids
from marketplace.core.services import (
    conversation_track_proposal,
    group_hold_membership,
    message_create,
)

from . import events, notifications
from .errors import InvalidTransition
from .models import Proposal
from .selectors import pool_weights, proposal_payees, takes_part

Status = Proposal.Status
logger = logging.getLogger("proposals.operations")

# A caller's own step that `transition_run` calls with the locked proposal: it refuses by
# raising a `DomainError` (a `require` may also write the caller's rows).
Check = Callable[[Proposal], None]


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


# The support role resolves disputes; the finance role settles undisputed deals by hand.
RESOLVE_DISPUTES = StaffPower("disputes.resolve_dispute")
RELEASE_ESCROW = StaffPower("proposals.release_escrow")
REFUND_ESCROW = StaffPower("proposals.refund_escrow")


class Escrow(StrEnum):
    """What a transition does with the proposal's escrow (`escrow_amount` follows)."""

    KEEP = "keep"  # nothing moves
    LOCK = "lock"  # the price moves from the buyer's available balance into a new hold
    RELEASE = "release"  # the hold is paid out: platform fee, leader, members
    REFUND = "refund"  # the hold goes back to the buyer
    SETTLE = "settle"  # `refund_amount` back to the buyer, the rest paid out


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    role: Role | StaffPower
    # Timestamp fields set to now ("started_at" only if still empty: it is the first start).
    stamps: tuple[str, ...]
    # The system message posted in the conversation; formatted with the proposal's title
    # and price, the transition's note and the refund of a split.
    message: str
    escrow: Escrow = Escrow.KEEP
    # Refusals worth their own words, by the status they refuse (else the generic one).
    refusals: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "sources", frozenset(self.sources))
        object.__setattr__(self, "stamps", tuple(self.stamps))


# "Disputed: staff cannot settle": a disputed proposal is resolved at the dispute desk.
_AT_THE_DISPUTE_DESK = {
    Status.DISPUTED: "This proposal is disputed: resolve it at the dispute desk.",
}

# The state machine, in one place. Anything not listed here is an `invalid_transition`.
TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(
        sources=[Status.PENDING],
        target=Status.ACCEPTED,
        role=Role.BUYER,
        stamps=["accepted_at"],
        message="Proposal “{title}” was accepted: {price} is held in escrow.",
        escrow=Escrow.LOCK,
    ),
    "reject": Transition(
        sources=[Status.PENDING],
        target=Status.REJECTED,
        role=Role.BUYER,
        stamps=["rejected_at"],
        message="Proposal “{title}” was rejected.",
    ),
    "withdraw": Transition(
        sources=[Status.PENDING],
        target=Status.WITHDRAWN,
        role=Role.LEADER,
        stamps=["withdrawn_at"],
        message="Proposal “{title}” was withdrawn.",
    ),
    "start": Transition(
        sources=[Status.ACCEPTED],
        target=Status.IN_PROGRESS,
        role=Role.LEADER,
        stamps=["started_at"],
        message="Work on “{title}” has started.",
    ),
    # A task moving to in_progress starts the proposal; task_update authorizes the actor.
    "auto_start": Transition(
        sources=[Status.ACCEPTED],
        target=Status.IN_PROGRESS,
        role=Role.SYSTEM,
        stamps=["started_at"],
        message="Work on “{title}” has started.",
    ),
    "deliver": Transition(
        sources=[Status.ACCEPTED, Status.IN_PROGRESS],
        target=Status.DELIVERED,
        role=Role.LEADER,
        stamps=["delivered_at"],
        message="“{title}” was delivered: the buyer can confirm it or request changes.",
    ),
    "request_changes": Transition(
        sources=[Status.DELIVERED],
        target=Status.IN_PROGRESS,
        role=Role.BUYER,
        stamps=["started_at"],
        message="The buyer requested changes to “{title}”: {note}",
    ),
    "confirm": Transition(
        sources=[Status.DELIVERED],
        target=Status.COMPLETED,
        role=Role.BUYER,
        stamps=["completed_at"],
        message="“{title}” is complete: the escrow of {price} was released.",
        escrow=Escrow.RELEASE,
    ),
    # The scheduled job confirms for a silent buyer once `Proposal.auto_release_at` passed.
    "auto_release": Transition(
        sources=[Status.DELIVERED],
        target=Status.COMPLETED,
        role=Role.SYSTEM,
        stamps=["completed_at"],
        message=(
            "“{title}” was confirmed automatically {note}: the escrow of {price} was released."
        ),
        escrow=Escrow.RELEASE,
    ),
    "cancel": Transition(
        sources=[Status.ACCEPTED, Status.IN_PROGRESS],
        target=Status.CANCELLED,
        role=Role.LEADER,
        stamps=["cancelled_at"],
        message="Proposal “{title}” was cancelled: {price} was refunded to the buyer.",
        escrow=Escrow.REFUND,
    ),
    "dispute": Transition(
        sources=[Status.ACCEPTED, Status.IN_PROGRESS, Status.DELIVERED],
        target=Status.DISPUTED,
        role=Role.PARTY,
        stamps=["disputed_at"],
        message=("A dispute was opened on “{title}”: the escrow is frozen until staff resolve it."),
    ),
    "resolve_refund": Transition(
        sources=[Status.DISPUTED],
        target=Status.REFUNDED,
        role=RESOLVE_DISPUTES,
        stamps=["resolved_at"],
        message="The dispute on “{title}” was resolved: {price} was refunded to the buyer.",
        escrow=Escrow.REFUND,
    ),
    "resolve_release": Transition(
        sources=[Status.DISPUTED],
        target=Status.COMPLETED,
        role=RESOLVE_DISPUTES,
        stamps=["completed_at", "resolved_at"],
        message="The dispute on “{title}” was resolved: the escrow of {price} was released.",
        escrow=Escrow.RELEASE,
    ),
    "resolve_split": Transition(
        sources=[Status.DISPUTED],
        target=Status.SETTLED,
        role=RESOLVE_DISPUTES,
        stamps=["resolved_at"],
        message=(
            "The dispute on “{title}” was resolved with a split: {refund} refunded to the "
            "buyer, the rest released."
        ),
        escrow=Escrow.SETTLE,
    ),
    # Staff (the finance role) settle an undisputed deal by hand from the admin.
    "staff_release": Transition(
        sources=[Status.ACCEPTED, Status.IN_PROGRESS, Status.DELIVERED],
        target=Status.COMPLETED,
        role=RELEASE_ESCROW,
        stamps=["completed_at"],
        message="Staff released the escrow of {price} for “{title}”: {note}",
        escrow=Escrow.RELEASE,
        refusals=_AT_THE_DISPUTE_DESK,
    ),
    "staff_refund": Transition(
        sources=[Status.ACCEPTED, Status.IN_PROGRESS, Status.DELIVERED],
        target=Status.REFUNDED,
        role=REFUND_ESCROW,
        stamps=["resolved_at"],
        message="Staff refunded {price} to the buyer for “{title}”: {note}",
        escrow=Escrow.REFUND,
        refusals=_AT_THE_DISPUTE_DESK,
    ),
}
_FIRST_ONLY = {"started_at"}
_ROLE_NAMES = {
    Role.BUYER: "the buyer",
    Role.LEADER: "the group's leader",
    Role.PARTY: "the buyer or the group's leader",
}


# --- who may act --------------------------------------------------------------------


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


# --- the runner and its steps -------------------------------------------------------


def proposal_hold_group(pk: int) -> bool:
    """The first lock of the global order: a share lock on the proposal's group
    (`group_hold_membership`), found and held in one statement. False when there is no
    such proposal."""
    # A proposal's group never changes, so naming it through the unlocked proposal is safe.
    group = Proposal.objects.filter(pk=pk).values("conversation__group_id")
    return group_hold_membership(group_id=group)


def proposal_for_update(proposal: Proposal | int) -> Proposal:
    """Hold the proposal's group steady (`group_hold_membership`), then lock the
    proposal's row and return it fresh from the database, with its conversation, buyer,
    group, leader and escrow hold loaded (the hold unlocked: the escrow services lock
    it). Must be the transaction's first lock: the global order is the group, the
    proposal, its dispute, the escrow accounts (`escrow.locking`), the conversation."""
    require_transaction()
    pk = getattr(proposal, "pk", proposal)
    if not proposal_hold_group(pk):
        raise NotFound(f"Proposal #{pk} does not exist.")
    try:
        return (
            Proposal.objects.select_for_update(of=("self",))
            .select_related(
                "conversation__product_owner", "conversation__group__leader", "escrow_hold"
            )
            .get(pk=pk)
        )
    except Proposal.DoesNotExist:  # deleted with its group while we waited
        raise NotFound(f"Proposal #{pk} does not exist.") from None


def transition_refusal(*, proposal: Proposal, action: str) -> str | None:
    """Why the proposal's status forbids `action` (whoever asks), or None if it allows
    it. Pages and the admin may ask it to show what the services would refuse."""
    transition = TRANSITIONS[action]
    if proposal.status in transition.refusals:
        return transition.refusals[proposal.status]
    if proposal.is_legacy:
        return "A proposal of the old system cannot change status."
    if proposal.status not in transition.sources:
        return f"Cannot {action.replace('_', ' ')} a proposal that is {proposal.status}."
    return None


def transition_check(
    *, proposal: Proposal, action: str, actor, guard: Check | None = None
) -> Transition:
    """Refuse unless `actor` may perform `action` on the locked `proposal` in its current
    status: 403 `permission_denied` for the wrong actor, then the caller's `guard` (a
    state of its own that outranks the proposal's status), then 409
    `invalid_transition` for the wrong status."""
    transition = TRANSITIONS[action]
    doing = f"{action.replace('_', ' ')} this proposal"
    require_role(proposal=proposal, role=transition.role, actor=actor, doing=doing)
    if guard is not None:
        guard(proposal)
    refusal = transition_refusal(proposal=proposal, action=action)
    if refusal is not None:
        raise InvalidTransition(refusal)
    return transition


def _move_escrow(proposal: Proposal, *, escrow: Escrow, actor, refund_amount) -> dict:
    """Move the money a transition names, on a proposal locked by `proposal_for_update`, under
    the idempotency key `proposal:<id>` (the escrow services file it under their own
    operation and account). Returns the proposal's fields the movement changes."""
    key = f"proposal:{proposal.pk}"
    if escrow == Escrow.KEEP:
        return {}
    if escrow == Escrow.LOCK:
        group = proposal.conversation.group
        hold = escrow_lock(
            buyer=proposal.conversation.product_owner,
            group=group,
            amount=proposal.price,
            idempotency_key=key,
            actor=actor,
        )
        # The group's members now are the participants, who share the pool on release.
        # A pending proposal has none yet, so adding them is one INSERT.
        proposal.participants.add(*group_member_ids(group_id=group.pk))
        return {"escrow_hold": hold, "escrow_amount": proposal.price}
    if escrow == Escrow.REFUND:
        entries = escrow_refund(hold=proposal.escrow_hold, idempotency_key=key, actor=actor)
    else:
        # Paid out to whoever leads the group now and the participants still in it; a
        # task-points pool by their done tasks' points.
        leader, members = proposal_payees(proposal=proposal)
        payout = {
            "hold": proposal.escrow_hold,
            "leader": leader,
            "members": members,
            "weights": pool_weights(proposal=proposal, member_ids=[m.pk for m in members]),
            "rates": proposal.rates,
            "idempotency_key": key,
            "actor": actor,
        }
        if escrow == Escrow.RELEASE:
            entries = escrow_release(**payout)
        else:
            entries = escrow_settle(refund_amount=refund_amount, **payout)
    notifications.escrow_paid_out(proposal=proposal, entries=entries)
    return {"escrow_amount": Money(0, proposal.price.currency)}


def transition_apply(
    *,
    proposal: Proposal,
    action: str,
    actor,
    note: str = "",
    refund_amount: Money | None = None,
    **fields,
) -> Proposal:
    """Write a transition that `transition_check` allowed on a proposal locked by
    `proposal_for_update`, once its money moved: the new status and its timestamps, the
    `fields` the money changed, the conversation's counters, a system message in the
    chat, the notifications, and the `proposal_changed` event after commit."""
    transition = TRANSITIONS[action]
    now = timezone.now()
    previous = proposal.status
    proposal.status = transition.target
    for stamp in transition.stamps:
        if stamp not in _FIRST_ONLY or getattr(proposal, stamp) is None:
            setattr(proposal, stamp, now)
    for name, value in fields.items():
        setattr(proposal, name, value)
    proposal.save(update_fields=["status", *transition.stamps, *fields, "updated_at"])
    update_conversation_counters(proposal)
    announce_in_chat(proposal, transition.message, note=note, refund_amount=refund_amount)
    notifications.proposal_transitioned(proposal=proposal, action=action, note=note)
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


def transition_run(
    proposal: Proposal | int,
    action: str,
    actor,
    *,
    guard: Check | None = None,
    require: Check | None = None,
    note: str = "",
    refund_amount: Money | None = None,
) -> Proposal:
    """Perform `action` on `proposal` for `actor` (None for the scheduled job) inside
    the caller's transaction, and return the proposal as it now is: lock, check (who,
    `guard`, status), `require`, move the escrow that `TRANSITIONS[action].escrow`
    names (`refund_amount` is a split's refund), apply. `note` goes into the system
    message and the notifications.

    `guard` and `require` are the caller's own checks, each called with the locked
    proposal: `guard` after the actor's check and before the status check, for a state
    that outranks the proposal's (a dispute already resolved); `require` after both,
    for everything else, including rows the caller writes under these locks."""
    proposal = proposal_for_update(proposal)
    transition = transition_check(proposal=proposal, action=action, actor=actor, guard=guard)
    if require is not None:
        require(proposal)
    fields = _move_escrow(
        proposal, escrow=transition.escrow, actor=actor, refund_amount=refund_amount
    )
    return transition_apply(
        proposal=proposal,
        action=action,
        actor=actor,
        note=note,
        refund_amount=refund_amount,
        **fields,
    )


# --- what a transition writes besides the proposal ----------------------------------


def update_conversation_counters(proposal: Proposal, *, created: bool = False) -> None:
    """Keep the conversation's counters in step with the proposal, in the same
    transaction, through the core's service (the conversation is the core's row)."""
    conversation_track_proposal(
        conversation=proposal.conversation,
        proposal_id=proposal.pk,
        is_open=proposal.status in Proposal.OPEN,
        created=created,
        completed=proposal.status == Status.COMPLETED,
    )


def announce_in_chat(
    proposal: Proposal, template: str, *, note: str = "", refund_amount: Money | None = None
) -> None:
    """Post `template`, formatted with the proposal's title and price, `note` and
    `refund_amount`, as a system message, and announce the proposal after commit."""
    body = template.format(
        title=proposal.title,
        price=money_text(proposal.price),
        note=note,
        refund=money_text(refund_amount) if refund_amount is not None else "",
    ).strip()
    message_create(
        conversation=proposal.conversation,
        sender=None,
        body=body,
        metadata={"type": "proposal", "proposal_id": proposal.pk, "status": proposal.status},
    )
    events.on_commit_proposal_changed(proposal)
