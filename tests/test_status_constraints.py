"""The database refuses statuses the state machines do not know (issue 11, part 7)."""

import pytest
from django.db import IntegrityError, transaction

from disputes.models import Dispute
from disputes.services import dispute_open
from proposals.models import Proposal, Task
from tests.proposals.factories import bring_to, make_team

pytestmark = pytest.mark.django_db


def refused(queryset, **changes) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**changes)
    except IntegrityError:
        return True
    return False


def test_a_task_status_outside_its_enum_is_refused():
    team = make_team(members=1)
    proposal = bring_to(team, Proposal.Status.ACCEPTED)
    task = Task.objects.create(proposal=proposal, title="Design")

    assert refused(Task.objects.filter(pk=task.pk), status="blocked")
    assert not refused(Task.objects.filter(pk=task.pk), status=Task.Status.DONE)


def test_a_dispute_status_and_outcome_must_agree():
    team = make_team(members=1)
    proposal = bring_to(team, Proposal.Status.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Broken.")
    disputes = Dispute.objects.filter(pk=dispute.pk)

    assert refused(disputes, status="closed")
    assert refused(disputes, outcome=Dispute.Outcome.REFUND)  # open with an outcome
    assert refused(disputes, status=Dispute.Status.RESOLVED)  # resolved without one
    assert not refused(disputes, status=Dispute.Status.RESOLVED, outcome=Dispute.Outcome.SPLIT)
