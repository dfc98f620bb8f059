"""The use cases of the proposal workflow, one function each: the buyer's and the
leader's moves, the automatic release, staff settling escrow by hand, the dispute's two
transitions (`proposal_dispute`, `proposal_resolve`), which the disputes app calls with
its own checks, and the tasks. Every change of status runs through
`transitions.transition_run` (lock, check, move the escrow, write).

Tasks: the leader splits an accepted proposal's work among the members. Like the
proposal's use cases, each takes the proposal's locks first (then the task) and checks
on fresh rows before writing. Tasks can be written while the proposal is accepted or in
progress; the buyer reads them but never writes. Starting a task of an accepted
proposal starts the proposal (`auto_start`).
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from djmoney.money import Money

from escrow.errors import CurrencyMismatch
from escrow.money import Rates, fee_breakdown, parse_amount
from escrow.selectors import group_wallet_get, wallet_get
from marketplace.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from marketplace.core.formats import moment_text
from marketplace.core.models import Conversation
from marketplace.core.selectors import conversation_with_parties
from marketplace.core.services import membership_hold

from . import events, notifications
from .errors import AutoReleaseNotDue, InvalidTransition, NotAMember, ProposalOpen
from .models import TASK_POINTS_MAX, TASK_POINTS_MIN, Proposal, Task
from .transitions import (
    Check,
    Role,
    announce_in_chat,
    has_role,
    proposal_for_update,
    require_role,
    transition_run,
    update_conversation_counters,
)

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
    pool_split: str = Proposal.PoolSplit.EQUAL,
) -> Proposal:
    """The group's leader offers `price` for the work; the fee breakdown is frozen with
    the rates now in force, and `pool_split` says how the member pool is shared (equal,
    or by the done tasks' points). One open proposal per conversation (409
    `proposal_open`)."""
    conversation = conversation_with_parties(conversation_id=conversation.pk)
    if getattr(actor, "pk", None) != conversation.group.leader_id:
        raise Forbidden("Only the group's leader can send a proposal.")
    if not isinstance(price, Money):
        raise InvalidInput("The price must be an amount of money.", code="invalid_amount")
    price = parse_amount(price.amount, str(price.currency))
    _require_payable(price, conversation)
    title = (title or "").strip()
    if not title or len(title) > Proposal._meta.get_field("title").max_length:
        raise InvalidInput("A title of 1 to 200 characters is required.", code="invalid_title")
    if pool_split not in Proposal.PoolSplit.values:
        message = f"pool_split must be one of {', '.join(Proposal.PoolSplit.values)}."
        raise InvalidInput(message, code="invalid_pool_split", fields={"pool_split": [message]})
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
                pool_split=pool_split,
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
    return transition_run(proposal, "accept", actor)


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
    return transition_run(proposal, "confirm", actor)


@transaction.atomic
def proposal_cancel(*, proposal: Proposal, actor) -> Proposal:
    """The leader calls the deal off after acceptance: the buyer gets everything back."""
    return transition_run(proposal, "cancel", actor)


@transaction.atomic
def proposal_auto_release(*, proposal: Proposal, now: datetime | None = None) -> Proposal:
    """Confirm on the silent buyer's behalf once the release time
    (`Proposal.auto_release_at`) has passed; the scheduled job calls it for each
    proposal of `selectors.proposals_due_for_auto_release`. Not due yet: 409
    `auto_release_not_due`; disputed: frozen (409 `invalid_transition`), like a
    confirmation."""

    def require_due(proposal: Proposal) -> None:
        due = proposal.auto_release_at
        if (now or timezone.now()) < due:
            raise AutoReleaseNotDue(f"The buyer has until {due} to confirm.")

    days = settings.ESCROW_AUTO_RELEASE_DAYS
    return transition_run(
        proposal, "auto_release", None, require=require_due, note=f"{days} days after delivery"
    )


AUTO_RELEASE_MAX_EXTENSION_DAYS = 7


def auto_release_extension_check(*, proposal: Proposal, actor) -> None:
    """Refuse unless `actor` may push back `proposal`'s automatic release now: the buyer
    only (403), while the release is counting down (409 `invalid_transition`), once per
    proposal (409 `auto_release_already_extended`)."""
    require_role(
        proposal=proposal, role=Role.BUYER, actor=actor, doing="extend the automatic release"
    )
    if proposal.auto_release_at is None:
        raise InvalidTransition(f"Cannot extend the release of a {proposal.status} proposal.")
    if proposal.auto_release_extended_until is not None:
        raise Conflict(
            "The automatic release was already extended once.",
            code="auto_release_already_extended",
        )


def auto_release_extensible(*, proposal: Proposal, actor) -> bool:
    """Whether `auto_release_extension_check` lets `actor` extend now: the card shows its
    button exactly then."""
    try:
        auto_release_extension_check(proposal=proposal, actor=actor)
    except DomainError:
        return False
    return True


@transaction.atomic
def proposal_extend_auto_release(*, proposal: Proposal, actor, days: int) -> Proposal:
    """The buyer of a delivered proposal pushes its automatic release back by 1 to 7
    days, once per proposal (`auto_release_extension_check`, on the locked row)."""
    limit = AUTO_RELEASE_MAX_EXTENSION_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        message = f"Days must be a whole number from 1 to {limit}."
        raise InvalidInput(message, code="invalid_days", fields={"days": [message]})
    proposal = proposal_for_update(proposal)
    auto_release_extension_check(proposal=proposal, actor=actor)
    proposal.auto_release_extended_until = proposal.auto_release_at + timedelta(days=days)
    proposal.save(update_fields=["auto_release_extended_until", "updated_at"])
    until = proposal.auto_release_extended_until
    announce_in_chat(
        proposal,
        "The buyer extended the automatic release of “{title}” {note}.",
        note=f"by {days} days, to {moment_text(until)} UTC",
    )
    return proposal


def _staff_settle(*, proposal, action: str, actor, reason: str) -> Proposal:
    """Release or refund an undisputed proposal's escrow by hand: the finance role's
    power (`TRANSITIONS[action].role`), never over a proposal the staff user takes part
    in, and a reason, which the system message and the log keep."""
    reason = (reason or "").strip()

    def require_reason(proposal: Proposal) -> None:
        if not reason:
            raise InvalidInput("A reason is required.", code="reason_required")

    return transition_run(proposal, action, actor, require=require_reason, note=reason)


@transaction.atomic
def proposal_release_by_staff(*, proposal: Proposal, actor, reason: str) -> Proposal:
    """Staff pay an accepted, in-progress or delivered proposal's escrow out, as a
    confirmation would (`completed`)."""
    return _staff_settle(proposal=proposal, action="staff_release", actor=actor, reason=reason)


@transaction.atomic
def proposal_refund_by_staff(*, proposal: Proposal, actor, reason: str) -> Proposal:
    """Staff give an accepted, in-progress or delivered proposal's escrow back to the
    buyer (`refunded`)."""
    return _staff_settle(proposal=proposal, action="staff_refund", actor=actor, reason=reason)


# --- disputes (the disputes app calls these with its own checks) --------------------


@transaction.atomic
def proposal_dispute(*, proposal: Proposal | int, actor, require: Check | None = None) -> Proposal:
    """The buyer or the group's leader disputes an accepted, in-progress or delivered
    proposal: it becomes `disputed` and its escrow is frozen until staff resolve it
    (`proposal_resolve`). `require(proposal)` runs under the proposal's lock once the
    actor and the status passed: the disputes app checks its input there and writes
    its dispute row, next in the lock order."""
    return transition_run(proposal, "dispute", actor, require=require)


# A dispute's outcomes, and the transition each one runs.
RESOLUTIONS = {
    "refund": "resolve_refund",  # the whole escrow back to the buyer: `refunded`
    "release": "resolve_release",  # paid out as a confirmation would: `completed`
    "split": "resolve_split",  # `refund_amount` back, the rest released: `settled`
}


@transaction.atomic
def proposal_resolve(
    *,
    proposal: Proposal | int,
    actor,
    outcome: str,
    refund_amount: Money | None = None,
    guard: Check | None = None,
) -> Proposal:
    """The support role (never a party to the case) resolves the dispute on a
    `disputed` proposal with one of the `RESOLUTIONS`; a split refunds `refund_amount`
    and releases the rest under the proposal's rates. `guard(proposal)` runs under the
    proposal's lock after the actor's check and before the status check: the disputes
    app locks its dispute there, refuses one already resolved and checks its input."""
    return transition_run(
        proposal, RESOLUTIONS[outcome], actor, guard=guard, refund_amount=refund_amount
    )


# --- tasks ---------------------------------------------------------------------

# Statuses of the proposal in which its tasks can be created and changed.
TASKS_WRITABLE = (Proposal.Status.ACCEPTED, Proposal.Status.IN_PROGRESS)


class _Unset:
    def __repr__(self):
        return "UNSET"


UNSET = _Unset()


def _require_writable(proposal: Proposal) -> None:
    if proposal.is_legacy or proposal.status not in TASKS_WRITABLE:
        raise InvalidTransition(
            f"Tasks can only change while the proposal is accepted or in progress, "
            f"not {proposal.status}."
        )


def _require_member(proposal: Proposal, user) -> None:
    """The assignee must be a member now. Their membership row stays locked until commit:
    a concurrent `group_leave` waits for this assignment, then unassigns it (its
    `member_left` receiver sees it), instead of leaving a task with a departed member."""
    if user is None:
        return
    if not membership_hold(group_id=proposal.conversation.group_id, user=user):
        raise NotAMember(f"{user} is not a member of the group.")


def _validate_points(points) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        points = None
    if points is None or not TASK_POINTS_MIN <= points <= TASK_POINTS_MAX:
        message = f"Points are a whole number from {TASK_POINTS_MIN} to {TASK_POINTS_MAX}."
        raise InvalidInput(message, code="invalid_points", fields={"points": [message]})
    return points


def _validate_title(title: str) -> str:
    title = (title or "").strip()
    if not title or len(title) > Task._meta.get_field("title").max_length:
        raise InvalidInput("A title of 1 to 200 characters is required.", code="invalid_title")
    return title


@transaction.atomic
def task_create(
    *,
    proposal: Proposal,
    actor,
    title: str,
    description: str = "",
    assigned_to=None,
    due_date: date | None = None,
    points: int = 1,
) -> Task:
    """The leader adds a task worth `points` (1 to 100), optionally assigned to a
    current member (400 `not_a_member` otherwise); the proposal must be accepted or in
    progress (409)."""
    proposal = proposal_for_update(proposal)
    if not has_role(proposal=proposal, role=Role.LEADER, actor=actor):
        raise Forbidden("Only the group's leader can create tasks.")
    _require_writable(proposal)
    title = _validate_title(title)
    points = _validate_points(points)
    _require_member(proposal, assigned_to)
    task = Task.objects.create(
        proposal=proposal,
        title=title,
        description=description or "",
        assigned_to=assigned_to,
        due_date=due_date,
        points=points,
    )
    notifications.task_assigned(task=task, proposal=proposal, actor=actor)
    events.on_commit_task_changed(task)
    return task


@transaction.atomic
def task_update(
    *,
    task: Task,
    actor,
    status: str | None = None,
    assigned_to=UNSET,
    points: int | None = None,
) -> Task:
    """The assignee changes the status of their own task; the leader changes the status,
    the assignee (`assigned_to=None` unassigns) and the points. Starting a task of an
    accepted proposal starts the proposal."""
    proposal = proposal_for_update(task.proposal_id)
    task = Task.objects.select_for_update().get(pk=task.pk)
    actor_id = getattr(actor, "pk", None)
    is_leader = has_role(proposal=proposal, role=Role.LEADER, actor=actor)
    is_assignee = actor_id is not None and task.assigned_to_id == actor_id
    if not (is_leader or is_assignee):
        raise Forbidden("Only the task's assignee or the group's leader can change it.")
    if assigned_to is not UNSET and not is_leader:
        raise Forbidden("Only the group's leader can reassign a task.")
    if points is not None and not is_leader:
        raise Forbidden("Only the group's leader can change a task's points.")
    if points is not None:
        points = _validate_points(points)
    if status is not None and status not in Task.Status.values:
        raise InvalidInput(
            f"Status must be one of {', '.join(Task.Status.values)}.", code="invalid_status"
        )
    _require_writable(proposal)
    if assigned_to is not UNSET:
        _require_member(proposal, assigned_to)

    previous_assignee_id = task.assigned_to_id
    if status is not None:
        task.status = status
    if assigned_to is not UNSET:
        task.assigned_to = assigned_to
    if points is not None:
        task.points = points
    task.save()
    if task.assigned_to_id != previous_assignee_id:
        notifications.task_assigned(task=task, proposal=proposal, actor=actor)
    if task.status == Task.Status.IN_PROGRESS and proposal.status == Proposal.Status.ACCEPTED:
        # Already locked above: the runner's lock finds the rows held by this transaction.
        transition_run(proposal, "auto_start", actor)
    events.on_commit_task_changed(task)
    return task


def unassign_tasks_of_leaving_member(sender, *, group, user, **kwargs) -> None:
    """`member_left` receiver, inside `group_leave`'s transaction: the member's open
    (not done) tasks on the group's proposals lose their assignee."""
    tasks = list(
        Task.objects.filter(proposal__conversation__group=group, assigned_to=user).exclude(
            status=Task.Status.DONE
        )
    )
    if not tasks:
        return
    Task.objects.filter(pk__in=[task.pk for task in tasks]).update(
        assigned_to=None, updated_at=timezone.now()
    )
    for task in tasks:
        task.assigned_to = None
        events.on_commit_task_changed(task)
