"""Writes of tasks: the leader splits an accepted proposal's work among the members.

Like the proposal services, each locks the proposal row first (then the task) and checks
on fresh rows before writing. Tasks can be written while the proposal is accepted or in
progress; the buyer reads them but never writes. Starting a task of an accepted proposal
starts the proposal, through the state machine's runner (`auto_start`).
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from marketplace.core.errors import Forbidden, InvalidInput
from marketplace.core.models import GroupMembership

from . import events, notifications
from .errors import InvalidTransition, NotAMember
from .models import Proposal, Task
from .transitions import Role, has_role, proposal_lock, transition_run

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
    membership = (
        GroupMembership.objects.select_for_update()
        .filter(group_id=proposal.conversation.group_id, user_id=getattr(user, "pk", None))
        .values_list("pk", flat=True)
    )
    if not list(membership[:1]):
        raise NotAMember(f"{user} is not a member of the group.")


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
) -> Task:
    """The leader adds a task, optionally assigned to a current member (400
    `not_a_member` otherwise); the proposal must be accepted or in progress (409)."""
    proposal = proposal_lock(proposal)
    if not has_role(proposal=proposal, role=Role.LEADER, actor=actor):
        raise Forbidden("Only the group's leader can create tasks.")
    _require_writable(proposal)
    title = _validate_title(title)
    _require_member(proposal, assigned_to)
    task = Task.objects.create(
        proposal=proposal,
        title=title,
        description=description or "",
        assigned_to=assigned_to,
        due_date=due_date,
    )
    notifications.task_assigned(task=task, proposal=proposal, actor=actor)
    events.on_commit_task_changed(task)
    return task


@transaction.atomic
def task_update(*, task: Task, actor, status: str | None = None, assigned_to=UNSET) -> Task:
    """The assignee changes the status of their own task; the leader changes the status
    and the assignee (`assigned_to=None` unassigns). Starting a task of an accepted
    proposal starts the proposal."""
    proposal = proposal_lock(task.proposal_id)
    task = Task.objects.select_for_update().get(pk=task.pk)
    actor_id = getattr(actor, "pk", None)
    is_leader = has_role(proposal=proposal, role=Role.LEADER, actor=actor)
    is_assignee = actor_id is not None and task.assigned_to_id == actor_id
    if not (is_leader or is_assignee):
        raise Forbidden("Only the task's assignee or the group's leader can change it.")
    if assigned_to is not UNSET and not is_leader:
        raise Forbidden("Only the group's leader can reassign a task.")
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
