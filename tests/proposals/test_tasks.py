"""Tasks: the leader splits an accepted proposal's work; members move their own tasks."""

import datetime

import pytest
from django.db import transaction

from marketplace.core.errors import DomainError
from marketplace.core.models import Conversation, GroupMembership, Message
from marketplace.core.services import group_leave
from marketplace.core.signals import member_left
from proposals import services
from proposals.models import Proposal, Task
from proposals.services import UNSET, task_create, task_update
from tests.factories import UserFactory

from .factories import bring_to, expect, make_team, money_state, race

pytestmark = pytest.mark.django_db
S = Proposal.Status
T = Task.Status


def refused(call) -> tuple[str, int]:
    with pytest.raises(DomainError) as error:
        call()
    return error.value.code, error.value.status


def task_state(task):
    task = Task.objects.get(pk=task.pk)
    return (task.status, task.assigned_to_id, task.title)


# --- create -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS])
def test_leader_creates_tasks_while_accepted_or_in_progress(status):
    team = make_team()
    proposal = bring_to(team, status)
    m1 = team.members[0]
    task = task_create(
        proposal=proposal,
        actor=team.leader,
        title="Checkout page",
        description="Stripe-like.",
        assigned_to=m1,
        due_date=datetime.date(2030, 1, 31),
    )
    task.refresh_from_db()
    assert (task.status, task.assigned_to, task.proposal_id) == (T.TODO, m1, proposal.pk)
    assert task.due_date == datetime.date(2030, 1, 31)
    unassigned = task_create(proposal=proposal, actor=team.leader, title="Copy")
    assert unassigned.assigned_to is None
    # Creating tasks changes neither the proposal nor the money.
    assert Proposal.objects.get(pk=proposal.pk).status == status


def test_leader_may_assign_a_task_to_themself():
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    task = task_create(proposal=proposal, actor=team.leader, title="X", assigned_to=team.leader)
    assert task.assigned_to == team.leader


@pytest.mark.parametrize("who", ["buyer", "m1", "stranger"])
def test_only_the_leader_creates_tasks(who):
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    actor = UserFactory() if who == "stranger" else team.people[who]
    assert refused(lambda: task_create(proposal=proposal, actor=actor, title="X")) == (
        "permission_denied",
        403,
    )
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    "status",
    [S.PENDING, S.DELIVERED, S.COMPLETED, S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.DISPUTED],
)
def test_no_tasks_outside_accepted_or_in_progress(status):
    team = make_team()
    proposal = bring_to(team, status)
    assert refused(lambda: task_create(proposal=proposal, actor=team.leader, title="X")) == (
        "invalid_transition",
        409,
    )
    assert not Task.objects.exists()


@pytest.mark.parametrize("who", ["buyer", "stranger", "member_of_another_group"])
def test_assignee_must_be_a_current_member(who):
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    if who == "buyer":
        assignee = team.buyer
    elif who == "stranger":
        assignee = UserFactory()
    else:
        assignee = make_team().members[0]
    call = lambda: task_create(  # noqa: E731
        proposal=proposal, actor=team.leader, title="X", assigned_to=assignee
    )
    assert refused(call) == ("not_a_member", 400)
    assert not Task.objects.exists()


def test_a_member_who_left_cannot_be_assigned():
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    m1 = team.members[0]
    GroupMembership.objects.filter(group=team.group, user=m1).delete()
    call = lambda: task_create(  # noqa: E731
        proposal=proposal, actor=team.leader, title="X", assigned_to=m1
    )
    assert refused(call) == ("not_a_member", 400)


def test_task_needs_a_title():
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    assert refused(lambda: task_create(proposal=proposal, actor=team.leader, title=" ")) == (
        "invalid_title",
        400,
    )


# --- update -------------------------------------------------------------------------


@pytest.fixture
def working():
    """An in-progress proposal with a task assigned to m1."""
    team = make_team()
    proposal = bring_to(team, S.IN_PROGRESS)
    m1 = team.members[0]
    task = task_create(proposal=proposal, actor=team.leader, title="API", assigned_to=m1)
    return team, proposal, task


def test_assignee_moves_their_own_task(working):
    team, _, task = working
    m1 = team.members[0]
    task = task_update(task=task, actor=m1, status=T.IN_PROGRESS)
    assert task_state(task) == (T.IN_PROGRESS, m1.pk, "API")
    task = task_update(task=task, actor=m1, status=T.DONE)
    assert task_state(task) == (T.DONE, m1.pk, "API")
    task = task_update(task=task, actor=m1, status=T.TODO)
    assert task_state(task) == (T.TODO, m1.pk, "API")


def test_assignee_cannot_reassign(working):
    team, _, task = working
    m1, m2 = team.members
    assert refused(lambda: task_update(task=task, actor=m1, assigned_to=m2)) == (
        "permission_denied",
        403,
    )
    assert refused(lambda: task_update(task=task, actor=m1, status=T.DONE, assigned_to=None)) == (
        "permission_denied",
        403,
    )
    assert task_state(task) == (T.TODO, m1.pk, "API")


@pytest.mark.parametrize("who", ["buyer", "m2", "stranger", "staff"])
def test_others_cannot_touch_the_task(working, who):
    team, _, task = working
    if who == "stranger":
        actor = UserFactory()
    elif who == "staff":
        actor = UserFactory(is_staff=True)
    else:
        actor = team.people[who]
    assert refused(lambda: task_update(task=task, actor=actor, status=T.DONE)) == (
        "permission_denied",
        403,
    )
    assert task_state(task) == (T.TODO, team.members[0].pk, "API")


def test_leader_changes_status_and_assignee(working):
    team, _, task = working
    m2 = team.members[1]
    task = task_update(task=task, actor=team.leader, status=T.IN_PROGRESS, assigned_to=m2)
    assert task_state(task) == (T.IN_PROGRESS, m2.pk, "API")
    task = task_update(task=task, actor=team.leader, assigned_to=None)
    assert task_state(task) == (T.IN_PROGRESS, None, "API")
    # The previous assignee has lost the right to move it.
    assert refused(lambda: task_update(task=task, actor=m2, status=T.DONE))[0] == (
        "permission_denied"
    )
    task = task_update(task=task, actor=team.leader, status=T.DONE)
    assert task_state(task) == (T.DONE, None, "API")


def test_leader_cannot_reassign_to_a_non_member(working):
    team, _, task = working
    assert refused(lambda: task_update(task=task, actor=team.leader, assigned_to=team.buyer)) == (
        "not_a_member",
        400,
    )
    assert task_state(task) == (T.TODO, team.members[0].pk, "API")


def test_unknown_task_status_is_refused(working):
    team, _, task = working
    assert refused(lambda: task_update(task=task, actor=team.leader, status="blocked")) == (
        "invalid_status",
        400,
    )


def test_update_without_changes_is_harmless(working):
    team, _, task = working
    task_update(task=task, actor=team.leader, status=None, assigned_to=UNSET)
    assert task_state(task) == (T.TODO, team.members[0].pk, "API")


@pytest.mark.parametrize("action", ["deliver", "cancel"])
def test_tasks_are_frozen_once_the_proposal_leaves_work(working, action):
    team, proposal, task = working
    getattr(services, f"proposal_{action}")(proposal=proposal, actor=team.leader)
    m1 = team.members[0]
    assert refused(lambda: task_update(task=task, actor=m1, status=T.DONE)) == (
        "invalid_transition",
        409,
    )
    assert task_state(task) == (T.TODO, m1.pk, "API")


def test_starting_a_task_starts_an_accepted_proposal(ledger_clean):
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    m1 = team.members[0]
    task = task_create(proposal=proposal, actor=team.leader, title="API", assigned_to=m1)
    task_update(task=task, actor=m1, status=T.DONE)  # not a start: the proposal stays
    assert Proposal.objects.get(pk=proposal.pk).status == S.ACCEPTED
    task_update(task=task, actor=m1, status=T.IN_PROGRESS)
    proposal.refresh_from_db()
    assert proposal.status == S.IN_PROGRESS
    assert proposal.started_at is not None
    last = Message.objects.filter(conversation=team.conversation).latest("id")
    assert last.metadata == {
        "type": "proposal",
        "proposal_id": proposal.pk,
        "status": "in_progress",
    }
    conversation = Conversation.objects.get(pk=team.conversation.pk)
    assert conversation.active_proposal_id == proposal.pk
    # A second task starting changes nothing more.
    other = task_create(proposal=proposal, actor=team.leader, title="UI", assigned_to=m1)
    messages = Message.objects.count()
    task_update(task=other, actor=m1, status=T.IN_PROGRESS)
    assert Message.objects.count() == messages
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


# --- a member leaves ----------------------------------------------------------------


def leave(group, user):
    group_leave(group=group, user=user)


def test_leaving_unassigns_the_members_open_tasks_of_that_group_only():
    team = make_team()
    m1, m2 = team.members
    proposal = bring_to(team, S.IN_PROGRESS)
    todo = task_create(proposal=proposal, actor=team.leader, title="todo", assigned_to=m1)
    doing = task_create(proposal=proposal, actor=team.leader, title="doing", assigned_to=m1)
    task_update(task=doing, actor=m1, status=T.IN_PROGRESS)
    done = task_create(proposal=proposal, actor=team.leader, title="done", assigned_to=m1)
    task_update(task=done, actor=m1, status=T.DONE)
    someone_else = task_create(proposal=proposal, actor=team.leader, title="m2", assigned_to=m2)

    # m1 is also in another group, with a task there.
    other = make_team(members=0)
    GroupMembership.objects.create(group=other.group, user=m1)
    other_proposal = bring_to(other, S.ACCEPTED)
    elsewhere = task_create(
        proposal=other_proposal, actor=other.leader, title="elsewhere", assigned_to=m1
    )

    leave(team.group, m1)
    assert task_state(todo) == (T.TODO, None, "todo")
    assert task_state(doing) == (T.IN_PROGRESS, None, "doing")
    assert task_state(done) == (T.DONE, m1.pk, "done")
    assert task_state(someone_else) == (T.TODO, m2.pk, "m2")
    assert task_state(elsewhere) == (T.TODO, m1.pk, "elsewhere")


def test_unassigning_rolls_back_with_the_leave():
    team = make_team()
    m1 = team.members[0]
    proposal = bring_to(team, S.IN_PROGRESS)
    task = task_create(proposal=proposal, actor=team.leader, title="API", assigned_to=m1)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        GroupMembership.objects.filter(group=team.group, user=m1).delete()
        member_left.send(sender=GroupMembership, group=team.group, user=m1)
        raise Abort
    assert task_state(task) == (T.TODO, m1.pk, "API")
    assert GroupMembership.objects.filter(group=team.group, user=m1).exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_assigning_while_the_member_leaves_never_leaves_a_task_with_them(round_):
    team = make_team()
    m1 = team.members[0]
    proposal = bring_to(team, S.IN_PROGRESS)
    task = task_create(proposal=proposal, actor=team.leader, title="API")
    results = race(
        lambda: task_update(task=task, actor=team.leader, assigned_to=m1),
        lambda: group_leave(group=team.group, user=m1),
    )
    assign, left = results
    assert left[0] == "ok"
    assert assign[0] == "ok" or assign[1].code == "not_a_member"
    assert not GroupMembership.objects.filter(group=team.group, user=m1).exists()
    assert task_state(task) == (T.TODO, None, "API")
