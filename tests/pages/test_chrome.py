"""The site's chrome (issue 14, findings 6 and 7): navigation, member counts, one date
format, one status label."""

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.test import Client

from marketplace.core.models import Conversation, Message
from proposals.models import Proposal, Task
from tests.factories import GroupFactory, UserFactory
from tests.proposals.factories import bring_to, make_team

from .conftest import text

pytestmark = pytest.mark.django_db


def test_disputes_are_linked_from_the_navigation_for_signed_in_users(as_user):
    html = as_user(UserFactory()).get("/groups/").content.decode()
    assert '<a href="/disputes/">Disputes</a>' in html
    assert "/disputes/" not in Client().get("/groups/").content.decode()


def test_the_current_page_is_marked_in_the_navigation(as_user):
    html = as_user(UserFactory()).get("/disputes/").content.decode()
    assert '<a href="/disputes/" aria-current="page">Disputes</a>' in html


def test_my_groups_shows_each_groups_real_member_count(as_user, django_assert_max_num_queries):
    me = UserFactory()
    GroupFactory(name="Alpha", leader=me, members=[UserFactory(), UserFactory()])
    GroupFactory(name="Beta", members=[me, UserFactory()])
    GroupFactory(name="Gamma", leader=me)
    client = as_user(me)

    # The count is one annotation: the queries do not grow with the groups.
    with django_assert_max_num_queries(8):
        page = client.get("/groups/mine/")

    body = text(page)
    assert "Alpha 3 members" in body
    assert "Beta 3 members" in body
    assert "Gamma 1 member" in body


def test_dates_are_written_one_way():
    render = Template('{% load pages %}{{ moment|when }}|{{ day|when }}|{{ moment|when:"day" }}')
    moment = datetime(2026, 12, 15, 23, 32, tzinfo=UTC)
    out = render.render(Context({"moment": moment, "day": date(2026, 12, 15)}))
    assert out == "15 Dec 2026, 23:32|15 Dec 2026|15 Dec 2026"


def test_chat_badges_use_the_cards_status_colours(as_user):
    group = GroupFactory()
    buyer = UserFactory()
    conversation = Conversation.objects.create(product_owner=buyer, group=group)
    Message.objects.create(
        conversation=conversation,
        sender=None,
        body="The proposal is in progress.",
        metadata={"type": "proposal", "proposal_id": 1, "status": "in_progress"},
    )

    html = as_user(buyer).get(f"/conversations/{conversation.pk}/").content.decode()

    assert '<span class="status-badge status-in_progress">In progress</span>' in html


def test_settled_is_explained_where_the_chat_shows_it(as_user):
    group = GroupFactory()
    buyer = UserFactory()
    conversation = Conversation.objects.create(product_owner=buyer, group=group)
    Message.objects.create(
        conversation=conversation,
        sender=None,
        body="The dispute is resolved.",
        metadata={"type": "proposal", "proposal_id": 1, "status": "settled"},
    )

    html = as_user(buyer).get(f"/conversations/{conversation.pk}/").content.decode()

    assert (
        '<abbr title="A dispute ended in a split: staff refunded part of the price to the '
        'buyer and released the rest to the group.">Settled</abbr>' in html
    )


def test_in_progress_is_written_one_way_on_the_card_and_the_board(as_user):
    team = make_team(members=1)
    proposal = bring_to(team, Proposal.Status.IN_PROGRESS, price="300.00")
    client = as_user(team.buyer)

    for path in (f"/conversations/{team.conversation.pk}/", f"/proposals/{proposal.pk}/tasks/"):
        html = client.get(path).content.decode()
        assert "In progress" in html, path
        assert "In Progress" not in html, path
    assert [label for _, label in Task.Status.choices] == ["To do", "In progress", "Done"]
