"""Reads of the proposal workflow that services, pages and the API share."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from djmoney.money import Money

from escrow.money import Distribution, distribute
from escrow.payouts import holds_payouts
from escrow.selectors import member_shares_paid, user_receipt, wallet_get
from marketplace.core.errors import NotFound
from marketplace.core.selectors import (
    conversation_participant_filter,
    group_is_member,
    group_members,
)

from .models import Proposal, Task


def takes_part(*, proposal: Proposal, user) -> bool:
    """Whether `user` has a stake in the proposal: its buyer, the group's leader or a
    member, or one of its participants (even one who has left since)."""
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return False
    conversation = proposal.conversation
    if user_id in (conversation.product_owner_id, conversation.group.leader_id):
        return True
    return (
        group_is_member(group_id=conversation.group_id, user=user)
        or proposal.participants.filter(pk=user_id).exists()
    )


def proposal_payees(*, proposal: Proposal):
    """Who is paid when the proposal's escrow is released: `(leader, members)`.

    The leader is whoever leads the group now; the members are the proposal's
    participants (the group's members at acceptance) who are still members, in order of
    joining (`joined_at`, then membership id) so the leftover cents go to the earliest.
    """
    group = proposal.conversation.group
    members = group_members(group_id=group.pk, among=proposal.participants.values("pk"))
    return group.leader, members


def pool_weights(*, proposal: Proposal, member_ids: list[int]) -> list[int] | None:
    """A task-points pool's weights, one per member in the order of `member_ids`: the
    points of the proposal's done tasks assigned to each (0 without any). None for an
    equal pool."""
    if proposal.pool_split != Proposal.PoolSplit.TASK_POINTS:
        return None
    done = (
        Task.objects.filter(
            proposal=proposal, status=Task.Status.DONE, assigned_to_id__in=member_ids
        )
        .values("assigned_to_id")
        .annotate(total=Sum("points"))
        .values_list("assigned_to_id", "total")
    )
    points = dict(done)
    return [points.get(member_id, 0) for member_id in member_ids]


def _plan_and_weights(proposal: Proposal, amount: Money | None):
    """The payout of `amount` (the price by default) now, and the weights it used: the
    payees are a pending proposal's group members today, else `proposal_payees`'."""
    if proposal.status == Proposal.Status.PENDING:
        group = proposal.conversation.group
        leader, members = group.leader, group_members(group_id=group.pk)
    else:
        leader, members = proposal_payees(proposal=proposal)
    weights = pool_weights(proposal=proposal, member_ids=[member.pk for member in members])
    plan = distribute(
        amount or proposal.price, proposal.rates, leader=leader, members=members, weights=weights
    )
    return plan, weights


def payout_plan(*, proposal: Proposal, amount: Money | None = None) -> Distribution:
    """How `amount` (the price by default) would leave escrow now, by the rule the
    release applies: the pool split equally or by the done tasks' points so far."""
    return _plan_and_weights(proposal, amount)[0]


def pool_shares(*, proposal: Proposal) -> list[dict]:
    """Each sharer's part of the member pool so far, in order of joining: `user`,
    `share` and, for a task-points pool, `points` (their done tasks' points). The card
    and the task board show it. Empty once the escrow was paid out or refunded."""
    if proposal.status not in (Proposal.Status.PENDING, *Proposal.ESCROW_HELD):
        return []
    plan, weights = _plan_and_weights(proposal, None)
    return [
        {"user": user, "share": share, "points": weights[index] if weights else None}
        for index, (user, share) in enumerate(plan.shares)
    ]


def payout_preview(proposal: Proposal, *, refund: bool) -> list[tuple[str, str, Money]]:
    """What emptying the proposal's escrow now would move, to the cent, as lines of
    (what, to whom, amount): for a refund the whole escrow back to the buyer; for a
    release the platform fee, the leader's commission and each member's share, as
    `escrow_release` computes them. Empty when nothing is held. The staff confirmation
    pages and the dispute desk show it."""
    if proposal.escrow_hold_id is None or not proposal.escrow_hold.amount.amount:
        return []
    held = proposal.escrow_hold.amount
    if refund:
        return [("Refund to the buyer", proposal.conversation.product_owner.username, held)]
    plan = payout_plan(proposal=proposal, amount=held)
    lines = [
        ("Platform fee", "platform", plan.platform_fee),
        ("Leader commission", plan.leader.username, plan.leader_commission),
    ]
    return lines + [("Member share", member.username, share) for member, share in plan.shares]


def proposals_due_for_auto_release(*, now: datetime | None = None) -> QuerySet[Proposal]:
    """Delivered proposals whose automatic release time (`Proposal.auto_release_at`, the
    buyer's extension included) has come, oldest delivery first (index
    `proposal_status_delivered`)."""
    due = Proposal.auto_release_by(now or timezone.now())
    return Proposal.objects.filter(due).order_by("delivered_at", "pk")


# --- what a user may read (the API's and the pages' visibility rules) ---------------


def readable_by(user, prefix: str = "") -> Q:
    """A filter for rows whose proposal `user` may read: its participants' (CONTRACT.md).
    Staff read proposals in the admin; `is_staff` opens nothing here. `prefix` leads from
    the row to its proposal (`"proposal__"`)."""
    return conversation_participant_filter(user, f"{prefix}conversation__")


def proposal_list(*, user, conversation_id: int | None = None) -> QuerySet[Proposal]:
    """The proposals `user` takes part in (buyer or current group member), newest first,
    optionally of one conversation; the conversation is loaded (one query per page)."""
    proposals = Proposal.objects.filter(readable_by(user)).select_related("conversation")
    if conversation_id is not None:
        proposals = proposals.filter(conversation_id=conversation_id)
    return proposals.order_by("-created_at", "-id")


def proposal_get(*, proposal_id, user) -> Proposal:
    """A proposal `user` may read: its participants (the buyer and the group's current
    members). Anyone else is told it does not exist."""
    # The leader too: the detail's `pool_shares` name them.
    proposals = Proposal.objects.select_related("conversation__group__leader")
    proposal = proposals.filter(readable_by(user), pk=proposal_id).first()
    if proposal is None:
        raise NotFound("No such proposal.")
    return proposal


def proposal_with_parties(*, proposal_id: int) -> Proposal:
    """The proposal with its conversation and group loaded, for a service that checks the
    caller itself (no visibility filter)."""
    return Proposal.objects.select_related("conversation__group").get(pk=proposal_id)


def task_list(*, proposal: Proposal) -> QuerySet[Task]:
    """The proposal's tasks in order of creation, assignees loaded."""
    return (
        Task.objects.filter(proposal=proposal)
        .select_related("assigned_to")
        .order_by("created_at", "id")
    )


def task_get(*, task_id, user) -> Task:
    """A task of a proposal `user` may read (see `proposal_get`); else 404."""
    tasks = Task.objects.select_related("assigned_to", "proposal")
    task = tasks.filter(readable_by(user, "proposal__"), pk=task_id).first()
    if task is None:
        raise NotFound("No such task.")
    return task


# --- what a participant gets ----------------------------------------------------------


def member_share_received(*, proposal: Proposal, user) -> Money | None:
    """What `user` was actually paid out of the proposal's escrow as a member share."""
    if proposal.escrow_hold_id is None:
        return None
    return member_shares_paid(hold_id=proposal.escrow_hold_id, user_id=user.pk)


def expected_member_share(*, proposal: Proposal, user) -> dict | None:
    """The viewer's expected part of the member pool so far, by the rule the release
    applies (`payout_plan`): before acceptance among today's members, afterwards among
    the participants still in the group. None once the escrow is emptied."""
    if proposal.status not in (Proposal.Status.PENDING, *Proposal.ESCROW_HELD):
        return None
    shares = {member.pk: share for member, share in payout_plan(proposal=proposal).shares}
    if user.pk not in shares:
        return None
    return {"share": shares[user.pk], "sharers": len(shares)}


# --- the money on the proposal cards --------------------------------------------------


@dataclass
class CardMoney:
    """What one proposal card shows a viewer about money."""

    # The buyer's available balance, and after accepting the pending proposal.
    buyer_money: dict | None = None
    # What left the emptied escrow (released, refunded, split), and what the viewer got.
    paid: dict | None = None
    # What the confirmation step of each money button says it moves.
    confirmations: dict = field(default_factory=dict)


def cards_money(*, proposals: list[Proposal], user) -> dict[int, CardMoney]:
    """The money figures of the cards of `proposals` for `user`, by proposal id, in a
    number of queries that does not grow with the cards: the buyer's wallet once, what
    every emptied hold paid out in one query (`holds_payouts`), and the payout previews
    of the cards whose escrow is held (one open proposal per conversation)."""
    emptied = [
        proposal.escrow_hold_id
        for proposal in proposals
        if proposal.escrow_hold_id and proposal.status not in Proposal.OPEN
    ]
    payouts = holds_payouts(hold_ids=emptied) if emptied else {}
    wallet = None
    figures = {}
    for proposal in proposals:
        money = figures[proposal.pk] = CardMoney()
        buyer = proposal.conversation.product_owner_id == user.pk
        if buyer and proposal.status == Proposal.Status.PENDING:
            if wallet is None:
                wallet = wallet_get(user=user)
            after = wallet.available_balance - proposal.price
            money.buyer_money = {
                "available": wallet.available_balance,
                "after": after,
                "short": after.amount < 0,
            }
        entries = payouts.get(proposal.escrow_hold_id)
        if entries:
            money.paid = {"entries": entries, "mine": user_receipt(entries=entries, user=user)}
        if proposal.status in Proposal.ESCROW_HELD and proposal.escrow_hold_id is not None:
            money.confirmations = {
                "confirm": payout_preview(proposal, refund=False),
                "cancel": payout_preview(proposal, refund=True),
            }
    return figures
