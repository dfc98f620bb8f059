"""Who is told what about the proposal workflow, in one place.

The services call these functions from inside their transaction, once the change is
written: the notifications are stored in that same transaction (a refused or rolled-back
change stores nothing) and `marketplace.core.notifications.notify` e-mails and pushes them
only after commit. The same goes for the `wallet.updated` frames sent to each user whose
wallet a change moved.

| event | who | kind |
|---|---|---|
| proposal created | the buyer | proposal_received |
| accepted (escrow locked) | leader and members | proposal_accepted |
| rejected | the leader | proposal_rejected |
| withdrawn | the buyer | proposal_cancelled (`data.status` "withdrawn") |
| delivered | the buyer (with the auto-release date) | proposal_delivered |
| changes requested | the leader | changes_requested |
| completed (confirm, auto-release, dispute release) | leader and members | proposal_completed |
| cancelled | the buyer | proposal_cancelled |
| escrow paid out (release, split) | each payee, their exact amount | payment_received |
| escrow refunded (cancel, dispute refund or split) | the buyer, the amount | refund_received |
| task assigned to someone else | the assignee | task_assigned |
| dispute opened | the other party (buyer or leader) | dispute_opened |
| dispute resolved | the buyer and the leader | dispute_resolved |

"Leader and members" are the proposal's payees: the group's leader now and the
participants (members at acceptance, the leader among them) still in the group.
The disputes app hands its dispute in; this module never imports it.
"""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from djmoney.money import Money

from escrow.models import EscrowTransaction, Wallet
from marketplace.core.events import publish_to_user
from marketplace.core.models import Notification
from marketplace.core.notifications import notify

from .selectors import proposal_payees

K = Notification.Kind
Leg = EscrowTransaction.Kind


# --- shared pieces ------------------------------------------------------------------


def proposal_link(proposal) -> str:
    """Proposals live in their conversation's chat."""
    return f"/conversations/{proposal.conversation_id}/"


def dispute_link(dispute) -> str:
    return f"/disputes/{dispute.pk}/"


def _money(amount: Money) -> str:
    return f"{amount.amount:.2f} {amount.currency}"


def _data(proposal, **extra) -> dict:
    """What the notification is about. `status` is the proposal's new status; money
    moves before the status changes, so money notifications leave it out."""
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


def _tell(users, *, proposal, kind, title, body, **data) -> None:
    for user in users:
        notify(
            user=user,
            kind=kind,
            title=title,
            body=body,
            link=proposal_link(proposal),
            data=_data(proposal, **data),
        )


def wallets_changed(*, user_ids) -> None:
    """`wallet.updated` with the wallet as the change left it, to each user, after
    commit. Read inside the transaction that changed them (the rows are still locked)."""
    wallets = Wallet.objects.filter(user_id__in=list(user_ids), kind=Wallet.Kind.USER)
    for wallet in wallets.order_by("pk"):
        publish_to_user(
            wallet.user_id,
            {
                "type": "wallet.updated",
                "wallet": {
                    "currency": wallet.currency,
                    "balance": f"{wallet.balance.amount:.2f}",
                    "available_balance": f"{wallet.available_balance.amount:.2f}",
                    "escrow_balance": f"{wallet.escrow_balance.amount:.2f}",
                },
            },
        )


# --- proposals ----------------------------------------------------------------------


def proposal_created(proposal) -> None:
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=K.PROPOSAL_RECEIVED,
        title=f"New proposal “{proposal.title}” for {_money(proposal.price)}",
        body=(
            f"{proposal.conversation.group.name} sent you a proposal. Accept it to hold "
            f"{_money(proposal.price)} in escrow and get the work started, or reject it."
        ),
    )


def _accepted(proposal, actor, note) -> None:
    _tell(
        _team(proposal),
        proposal=proposal,
        kind=K.PROPOSAL_ACCEPTED,
        title=f"“{proposal.title}” was accepted",
        body=f"{_money(proposal.price)} is held in escrow until the buyer confirms the work.",
    )
    wallets_changed(user_ids=[proposal.conversation.product_owner_id])


def _rejected(proposal, actor, note) -> None:
    _tell(
        [_leader(proposal)],
        proposal=proposal,
        kind=K.PROPOSAL_REJECTED,
        title=f"“{proposal.title}” was rejected",
        body="The buyer declined the proposal.",
    )


def _withdrawn(proposal, actor, note) -> None:
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=K.PROPOSAL_CANCELLED,
        title=f"“{proposal.title}” was withdrawn",
        body="The group withdrew its proposal.",
    )


def _delivered(proposal, actor, note) -> None:
    days = settings.ESCROW_AUTO_RELEASE_DAYS
    release_at = proposal.delivered_at + timedelta(days=days)
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=K.PROPOSAL_DELIVERED,
        title=f"“{proposal.title}” was delivered",
        body=(
            f"Confirm the work to release the escrow, or request changes. Without an answer "
            f"the escrow of {_money(proposal.price)} is released automatically on "
            f"{release_at:%Y-%m-%d %H:%M} UTC."
        ),
        auto_release_at=release_at,
    )


def _changes_requested(proposal, actor, note) -> None:
    _tell(
        [_leader(proposal)],
        proposal=proposal,
        kind=K.CHANGES_REQUESTED,
        title=f"Changes requested on “{proposal.title}”",
        body=f"The buyer asked for changes: {note}" if note else "The buyer asked for changes.",
    )


_COMPLETED_BY = {
    "confirm": "The buyer confirmed the work",
    "auto_release": "The buyer did not answer in time, so the work was confirmed automatically",
    "resolve_release": "Staff resolved the dispute by releasing the escrow",
    "staff_release": "Staff released the escrow",
}


def _completed(proposal, actor, note, *, action) -> None:
    _tell(
        _team(proposal),
        proposal=proposal,
        kind=K.PROPOSAL_COMPLETED,
        title=f"“{proposal.title}” is complete",
        body=f"{_COMPLETED_BY[action]}: the escrow of {_money(proposal.price)} was paid out.",
    )


def _cancelled(proposal, actor, note) -> None:
    _tell(
        [_buyer(proposal)],
        proposal=proposal,
        kind=K.PROPOSAL_CANCELLED,
        title=f"“{proposal.title}” was cancelled",
        body=f"The group called the deal off: {_money(proposal.price)} is refunded to you.",
    )


def _refunded_by_staff(proposal, actor, note) -> None:
    _tell(
        [_buyer(proposal), *_team(proposal)],
        proposal=proposal,
        kind=K.PROPOSAL_CANCELLED,
        title=f"“{proposal.title}” was refunded by staff",
        body=f"Staff refunded the escrow of {_money(proposal.price)} to the buyer. {note}".strip(),
    )


# Transitions not listed tell no one (start, auto_start) or are told by the disputes
# app's own calls below, which know the dispute (dispute, resolve_refund, resolve_split).
_ON_TRANSITION = {
    "accept": _accepted,
    "reject": _rejected,
    "withdraw": _withdrawn,
    "deliver": _delivered,
    "request_changes": _changes_requested,
    "confirm": lambda p, a, n: _completed(p, a, n, action="confirm"),
    "auto_release": lambda p, a, n: _completed(p, a, n, action="auto_release"),
    "resolve_release": lambda p, a, n: _completed(p, a, n, action="resolve_release"),
    "staff_release": lambda p, a, n: _completed(p, a, n, action="staff_release"),
    "cancel": _cancelled,
    "staff_refund": _refunded_by_staff,
}


def proposal_transitioned(*, proposal, action: str, actor, note: str = "") -> None:
    """Called by `transition_apply` once the new status is written."""
    handler = _ON_TRANSITION.get(action)
    if handler is not None:
        handler(proposal, actor, note)


# --- money --------------------------------------------------------------------------

_PAYMENT_PARTS = {Leg.LEADER_COMMISSION: "leader commission", Leg.MEMBER_SHARE: "member share"}


def escrow_paid_out(*, proposal, legs) -> None:
    """After a release, refund or split: each user wallet that received money is told
    its exact total (payment_received for the group's side, refund_received for the
    buyer); they and the buyer, whose escrow went down, are sent their new balances."""
    received: dict[int, list] = defaultdict(list)  # wallet id -> its legs, in leg order
    for leg in legs:
        if leg.to_wallet_id is not None:
            received[leg.to_wallet_id].append(leg)
    wallets = Wallet.objects.select_related("user").filter(
        pk__in=list(received), kind=Wallet.Kind.USER
    )
    wallets = {wallet.pk: wallet for wallet in wallets}
    for wallet_id, its_legs in received.items():
        wallet = wallets.get(wallet_id)
        if wallet is None:
            continue  # the platform's account
        total = sum((leg.amount for leg in its_legs), Money(0, its_legs[0].amount.currency))
        data = {"amount": f"{total.amount:.2f}", "currency": str(total.currency), "status": None}
        if all(leg.kind == Leg.REFUND for leg in its_legs):
            _tell(
                [wallet.user],
                proposal=proposal,
                kind=K.REFUND_RECEIVED,
                title=f"You were refunded {_money(total)} for “{proposal.title}”",
                body="The money is back in your available balance.",
                **data,
            )
        else:
            parts = ", ".join(
                f"{_PAYMENT_PARTS.get(leg.kind, leg.get_kind_display().lower())} "
                f"{_money(leg.amount)}"
                for leg in its_legs
            )
            _tell(
                [wallet.user],
                proposal=proposal,
                kind=K.PAYMENT_RECEIVED,
                title=f"You received {_money(total)} for “{proposal.title}”",
                body=f"Paid from the escrow ({parts}) into your available balance.",
                **data,
            )
    # The buyer's escrow went down too, even when nothing came back to them.
    buyer_id = proposal.conversation.product_owner_id
    payees = [wallet.user_id for wallet in wallets.values() if wallet.user_id != buyer_id]
    wallets_changed(user_ids=[buyer_id, *payees])


# --- tasks --------------------------------------------------------------------------


def task_assigned(*, task, proposal, actor) -> None:
    """The task now has an assignee who is not the one who assigned it."""
    assignee = task.assigned_to
    if assignee is None or assignee.pk == getattr(actor, "pk", None):
        return
    _tell(
        [assignee],
        proposal=proposal,
        kind=K.TASK_ASSIGNED,
        title=f"New task: “{task.title}”",
        body=f"{actor.username} assigned you a task on “{proposal.title}”.",
        task_id=task.pk,
    )


# --- disputes (the dispute is handed in by the disputes app) ------------------------


def dispute_opened(*, dispute, proposal, actor) -> None:
    """The other party: the leader when the buyer opened it, else the buyer."""
    buyer_id = proposal.conversation.product_owner_id
    other = _leader(proposal) if getattr(actor, "pk", None) == buyer_id else _buyer(proposal)
    side = "The buyer" if other.pk != buyer_id else "The group's leader"
    notify(
        user=other,
        kind=K.DISPUTE_OPENED,
        title=f"A dispute was opened on “{proposal.title}”",
        body=(
            f"{side} opened a dispute: {dispute.reason}\nThe escrow of "
            f"{_money(proposal.price)} is frozen until staff resolve it."
        ),
        link=dispute_link(dispute),
        data=_data(proposal, dispute_id=dispute.pk),
    )


def dispute_resolved(*, dispute, proposal) -> None:
    price = proposal.price
    if dispute.outcome == "refund":
        outcome = f"{_money(price)} was refunded to the buyer."
    elif dispute.outcome == "release":
        outcome = f"The escrow of {_money(price)} was released to the group."
    else:
        rest = price - dispute.refund_amount
        outcome = (
            f"{_money(dispute.refund_amount)} was refunded to the buyer and "
            f"{_money(rest)} released to the group."
        )
    note = f"\nStaff note: {dispute.resolution_note}" if dispute.resolution_note else ""
    extra = {"dispute_id": dispute.pk, "outcome": dispute.outcome}
    if dispute.refund_amount is not None:
        extra["refund_amount"] = f"{dispute.refund_amount.amount:.2f}"
    for user in (_buyer(proposal), _leader(proposal)):
        notify(
            user=user,
            kind=K.DISPUTE_RESOLVED,
            title=f"The dispute on “{proposal.title}” was resolved",
            body=f"{outcome}{note}",
            link=dispute_link(dispute),
            data=_data(proposal, **extra),
        )
