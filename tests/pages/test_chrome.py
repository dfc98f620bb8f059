"""The site's chrome (issue 14, findings 6 and 7): navigation, member counts, one date
format, one status label."""

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client
from djmoney.money import Money

from disputes.models import Dispute
from disputes.services import dispute_resolve
from marketplace.core.models import Conversation, Message
from marketplace.core.templatetags.pages import STATUS_HELP
from proposals.models import Proposal, Task
from tests.factories import GroupFactory, UserFactory, staff_user
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


# `|date` and its format, as a template writes it: `{{ x|date:"j M Y" }}`, `{{ x|date }}`.
_DATE_FILTER = re.compile(r"""\|date\b(?::\s*(?:"([^"]*)"|'([^']*)'))?""")


def test_people_read_dates_only_through_when():
    """`|date` is left for machine-readable attributes (`date:'c'`); any date a person
    reads goes through `|when`, so no page writes one its own way."""
    root = Path(settings.BASE_DIR) / "templates"
    own_ways = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in sorted(root.rglob("*.html"))
        for match in _DATE_FILTER.finditer(path.read_text())
        if (match.group(1) or match.group(2)) != "c"
    ]
    assert own_ways == []


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

    help_text = (
        "A dispute ended in a split: staff refunded part of the price to the buyer and "
        "released the rest to the group."
    )
    # A tooltip for a mouse, and the same words for a screen reader (a tooltip is out of
    # reach of a keyboard or a finger).
    assert (
        f'<span class="status-badge status-settled"><abbr title="{help_text}">Settled</abbr>'
        f'<span class="visually-hidden">: {help_text}</span></span>' in html
    )
    # The meaning of each status that needs saying, for the badges chat.js adds live.
    data = re.search(r'<script id="status-help" type="application/json">(.*?)</script>', html)
    assert json.loads(data.group(1)) == STATUS_HELP


def resolved(team, outcome: str, refund: str | None = None) -> Proposal:
    proposal = bring_to(team, Proposal.Status.DISPUTED)
    dispute_resolve(
        dispute=Dispute.objects.get(proposal=proposal),
        actor=staff_user(None, "support"),
        outcome=outcome,
        refund_amount=Money(refund, "USD") if refund else None,
    )
    return proposal


@pytest.mark.parametrize(
    "status, make, words",
    [
        ("disputed", lambda team: bring_to(team, "disputed"), "the price stays in escrow"),
        ("settled", lambda team: resolved(team, "split", "400.00"), "refunded part of the price"),
        ("refunded", lambda team: resolved(team, "refund"), "refunded the whole price"),
        ("cancelled", lambda team: bring_to(team, "cancelled"), "The leader cancelled"),
    ],
)
def test_a_card_whose_status_needs_saying_says_it_in_words(as_user, status, make, words):
    """On the card as visible text: a phone or a keyboard reaches no tooltip."""
    team = make_team(members=1)
    proposal = make(team)
    assert Proposal.objects.get(pk=proposal.pk).status == status

    html = as_user(team.buyer).get(f"/conversations/{team.conversation.pk}/").content.decode()

    card = re.search(rf'<article [^>]*id="proposal-{proposal.pk}".*?</article>', html, re.S)
    line = re.search(r'<p class="muted status-help" data-field="status-help">(.*?)</p>', card[0])
    assert line[1] == STATUS_HELP[status]
    assert words in line[1]


def test_a_card_whose_status_says_it_all_has_no_explanation(as_user):
    team = make_team(members=1)
    bring_to(team, Proposal.Status.IN_PROGRESS)
    html = as_user(team.buyer).get(f"/conversations/{team.conversation.pk}/").content.decode()
    assert 'data-field="status-help"' not in html


def test_in_progress_is_written_one_way_on_the_card_and_the_board(as_user):
    team = make_team(members=1)
    proposal = bring_to(team, Proposal.Status.IN_PROGRESS, price="300.00")
    client = as_user(team.buyer)

    for path in (f"/conversations/{team.conversation.pk}/", f"/proposals/{proposal.pk}/tasks/"):
        html = client.get(path).content.decode()
        assert "In progress" in html, path
        assert "In Progress" not in html, path
    assert [label for _, label in Task.Status.choices] == ["To do", "In progress", "Done"]
