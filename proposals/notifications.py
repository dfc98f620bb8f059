"""Who is told what about the proposal workflow, in one place.

The services call these functions from inside their transaction, once the change is
written: the notifications are stored in that same transaction (a refused or rolled-back
change stores nothing) and `marketplace.core.notifications.notify` e-mails and pushes them
only after commit. (The `wallet.updated` frames are escrow's own: `escrow.events`.) Ledger
entries are read through `escrow.selectors`.

| event | who | kind |
|---|---|---|
| proposal created | the buyer | proposal_received |
| accepted (escrow locked) | the team | proposal_accepted |
| rejected | the leader | proposal_rejected |
| withdrawn | the buyer | proposal_cancelled (`data.status` "withdrawn") |
| delivered | the buyer (with the auto-release time) | proposal_delivered |
| changes requested | the leader | changes_requested |
| completed (confirm, auto-release, dispute or staff release) | the team | proposal_completed |
| cancelled | the buyer | proposal_cancelled |
| refunded by staff | the buyer and the team | proposal_cancelled |
| escrow paid out (any release, split) | each payee, their exact amount | payment_received |
| escrow refunded (cancel, staff or dispute refund, split) | the buyer | refund_received |
| task assigned to someone else | the assignee | task_assigned |

"The team" is the proposal's payees: the group's leader now and the participants
(members at acceptance, the leader among them) still in the group. Opening and resolving
a dispute are told by the disputes app (`disputes.notifications`), which knows the
dispute; it builds on `proposal_data`.
"""

from escrow.selectors import user_receipts
from marketplace.core.formats import amount_text, moment_text, money_text
from marketplace.core.notifications import Kind, Note, notify_all

from .selectors import proposal_payees

# --- shared pieces ------------------------------------------------------------------


def proposal_link(proposal) -> str:
    """Proposals live in their conversation's chat."""
    return f"/conversations/{proposal.conversation_id}/"


def proposal_data(proposal, **extra) -> dict:
    """What a notification about `proposal` is about. `status` is the proposal's new
    status; money moves before the status changes, so money notifications leave it out
    (`status=None`). None values are dropped."""
    data = {"proposal_id": proposal.pk, "conversation_id": proposal.conversation_id}
    data["status"] = proposal.status
    data.update(extra)
    return {key: value for key, value in data.items() if value is not None}


def _buyer(proposal):
    return proposal.conversation.product_owner


def _leader(proposal):
    return proposal.conversation.group.leader


def _team(proposal) -> list:
    """The leader first, then the other participants still in the group, in order of
    joining; each once."""
    leader, members = proposal_payees(proposal=proposal)
    return [leader, *(member for member in members if member.pk != leader.pk)]


def _note(user, *, proposal, kind, title, body, **data) -> Note:
    return Note(
        user=user,
        kind=kind,
        title=title,
        body=body,
        link=proposal_link(proposal),
        data=proposal_data(proposal, **data),
    )


def _tell(users, *, proposal, kind, title, body, **data) -> None:
    notify_all(
        _note(user, proposal=proposal, kind=kind, title=title, body=body, **data) for user in users
    )


# --- proposals ----------------------------------------------------------------------


def proposal_created(proposal) -> None:
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=Kind.PROPOSAL_RECEIVED,
        title=f"New proposal “{proposal.title}” for {money_text(proposal.price)}",
        body=(
            f"{proposal.conversation.group.name} sent you a proposal. Accept it to hold "
            f"{money_text(proposal.price)} in escrow and get the work started, or reject it."
        ),
    )


def _accepted(proposal, note) -> None:
    _tell(
        _team(proposal),
        proposal=proposal,
        kind=Kind.PROPOSAL_ACCEPTED,
        title=f"“{proposal.title}” was accepted",
        body=(f"{money_text(proposal.price)} is held in escrow until the buyer confirms the work."),
    )


def _rejected(proposal, note) -> None:
    _tell(
        [_leader(proposal)],
        proposal=proposal,
        kind=Kind.PROPOSAL_REJECTED,
        title=f"“{proposal.title}” was rejected",
        body="The buyer declined the proposal.",
    )


def _withdrawn(proposal, note) -> None:
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=Kind.PROPOSAL_CANCELLED,
        title=f"“{proposal.title}” was withdrawn",
        body="The group withdrew its proposal.",
    )


def _delivered(proposal, note) -> None:
    release_at = proposal.auto_release_at
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=Kind.PROPOSAL_DELIVERED,
        title=f"“{proposal.title}” was delivered",
        body=(
            f"Confirm the work to release the escrow, or request changes. Without an answer "
            f"the escrow of {money_text(proposal.price)} is released automatically on "
            f"{moment_text(release_at)} UTC."
        ),
        auto_release_at=release_at,
    )


def _changes_requested(proposal, note) -> None:
    _tell(
        [_leader(proposal)],
        proposal=proposal,
        kind=Kind.CHANGES_REQUESTED,
        title=f"Changes requested on “{proposal.title}”",
        body=f"The buyer asked for changes: {note}" if note else "The buyer asked for changes.",
    )


def _cancelled(proposal, note) -> None:
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=Kind.PROPOSAL_CANCELLED,
        title=f"“{proposal.title}” was cancelled",
        body=f"The group called the deal off: {money_text(proposal.price)} is refunded to you.",
    )


def _refunded_by_staff(proposal, note) -> None:
    price = money_text(proposal.price)
    _tell(
        [_buyer(proposal), *_team(proposal)],
        proposal=proposal,
        kind=Kind.PROPOSAL_CANCELLED,
        title=f"“{proposal.title}” was refunded by staff",
        body=f"Staff refunded the escrow of {price} to the buyer. {note}".strip(),
    )


# The transitions that complete a proposal, and who completed it.
_COMPLETED_BY = {
    "confirm": "The buyer confirmed the work",
    "auto_release": "The buyer did not answer in time, so the work was confirmed automatically",
    "resolve_release": "Staff resolved the dispute by releasing the escrow",
    "staff_release": "Staff released the escrow",
}

# Transitions neither here nor in `_COMPLETED_BY` tell no one (start, auto_start) or are
# told by the disputes app, which knows the dispute (dispute, resolve_refund,
# resolve_split).
_ON_TRANSITION = {
    "accept": _accepted,
    "reject": _rejected,
    "withdraw": _withdrawn,
    "deliver": _delivered,
    "request_changes": _changes_requested,
    "cancel": _cancelled,
    "staff_refund": _refunded_by_staff,
}


def proposal_transitioned(*, proposal, action: str, note: str = "") -> None:
    """Called by `transition_apply` once the new status is written."""
    if action in _COMPLETED_BY:
        _tell(
            _team(proposal),
            proposal=proposal,
            kind=Kind.PROPOSAL_COMPLETED,
            title=f"“{proposal.title}” is complete",
            body=(
                f"{_COMPLETED_BY[action]}: the escrow of {money_text(proposal.price)} was paid out."
            ),
        )
    elif action in _ON_TRANSITION:
        _ON_TRANSITION[action](proposal, note)


# --- money --------------------------------------------------------------------------


def escrow_paid_out(*, proposal, entries) -> None:
    """After a release, refund or split (`entries`, what the escrow service posted): each
    user who received money is told their exact total (payment_received for the group's
    side, refund_received for the buyer)."""
    notify_all(_receipt_note(proposal, receipt) for receipt in user_receipts(entries=entries))


def _receipt_note(proposal, receipt) -> Note:
    total = receipt.total
    data = {"amount": amount_text(total), "currency": str(total.currency), "status": None}
    if receipt.refund:
        return _note(
            receipt.user,
            proposal=proposal,
            kind=Kind.REFUND_RECEIVED,
            title=f"You were refunded {money_text(total)} for “{proposal.title}”",
            body="The money is back in your available balance.",
            **data,
        )
    parts = ", ".join(
        f"{entry.get_kind_display().lower()} {money_text(entry.amount)}"
        for entry in receipt.entries
    )
    return _note(
        receipt.user,
        proposal=proposal,
        kind=Kind.PAYMENT_RECEIVED,
        title=f"You received {money_text(total)} for “{proposal.title}”",
        body=f"Paid from the escrow ({parts}) into your available balance.",
        **data,
    )


# --- tasks --------------------------------------------------------------------------


def task_assigned(*, task, proposal, actor) -> None:
    """The task now has an assignee who is not the one who assigned it."""
    assignee = task.assigned_to
    if assignee is None or assignee.pk == getattr(actor, "pk", None):
        return
    _tell(
        [assignee],
        proposal=proposal,
        kind=Kind.TASK_ASSIGNED,
        title=f"New task: “{task.title}”",
        body=f"{actor.username} assigned you a task on “{proposal.title}”.",
        task_id=task.pk,
    )
