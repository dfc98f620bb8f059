"""A user without the new workflow sees the legacy flow only: proposal, task and dispute
pages and buttons are hidden, and their addresses answer 403 with an explanation."""

import pytest

from disputes.models import Dispute
from proposals.models import Proposal
from tests.proposals.factories import bring_to, propose

from .conftest import csrf_post, text

pytestmark = pytest.mark.django_db
EXPLANATION = (
    "Proposals, tasks and disputes are not enabled for your account yet. Meanwhile, use "
    "legacy projects and orders."
)


def test_without_the_flag_the_chat_has_no_proposals(as_user, team, workflow_off):
    propose(team)
    for who in ("buyer", "leader"):
        page = as_user(team.people[who]).get(f"/conversations/{team.conversation.pk}/")
        assert page.status_code == 200
        html = page.content.decode()
        assert 'id="proposal-panel"' not in html
        assert 'id="new-proposal"' not in html
        assert "Accept" not in text(page)
    assert "Legacy projects" in text(as_user(team.buyer).get("/legacy/projects/"))


def test_without_the_flag_workflow_addresses_answer_403_with_why(as_user, team, workflow_off):
    proposal = bring_to(team, Proposal.Status.DISPUTED)
    dispute = Dispute.objects.get()
    buyer = as_user(team.buyer)
    for path in (
        f"/conversations/{team.conversation.pk}/proposals/",
        f"/proposals/{proposal.pk}/tasks/",
        f"/proposals/{proposal.pk}/tasks/board/",
        f"/proposals/{proposal.pk}/dispute/",
        f"/disputes/{dispute.pk}/",
        "/disputes/",
    ):
        response = buyer.get(path)
        assert response.status_code == 403, path
        assert EXPLANATION in text(response)
        assert 'href="/legacy/projects/"' in response.content.decode()
    response = csrf_post(buyer, f"/proposals/{proposal.pk}/confirm/")
    assert response.status_code == 403
    response = csrf_post(
        as_user(team.leader),
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "X", "price": "1.00", "currency": "USD"},
    )
    assert response.status_code == 403
    assert Proposal.objects.count() == 1


def test_a_named_user_keeps_the_workflow_while_others_do_not(as_user, team, workflow_off):
    workflow_off.everyone = None
    workflow_off.save()
    workflow_off.users.add(team.buyer)
    propose(team)
    html = as_user(team.buyer).get(f"/conversations/{team.conversation.pk}/").content.decode()
    assert 'id="proposal-panel"' in html
    html = as_user(team.leader).get(f"/conversations/{team.conversation.pk}/").content.decode()
    assert 'id="proposal-panel"' not in html
