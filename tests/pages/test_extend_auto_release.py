"""The buyer's "push the release back" button on a delivered card (issue 14, "who can
extend it"): shown to whoever the service allows, posting to a page with CSRF, landing at
the card with a message; it moves the release time by the service's most days, once."""

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings

from marketplace.core.formats import moment_text
from proposals.models import Proposal
from proposals.services import AUTO_RELEASE_MAX_EXTENSION_DAYS
from tests.factories import UserFactory
from tests.proposals.factories import bring_to

from .conftest import csrf_post, text

pytestmark = pytest.mark.django_db
S = Proposal.Status
BUTTON = 'data-action="extend_auto_release"'


def card(client, team, proposal) -> str:
    html = client.get(f"/conversations/{team.conversation.pk}/").content.decode()
    found = re.search(
        rf'<article class="card proposal[^"]*" id="proposal-{proposal.pk}".*?</article>', html, re.S
    )
    assert found, "no card for the proposal"
    return found.group(0)


def countdown(card_html: str) -> datetime:
    """The release time the card counts down to (its machine-readable attribute)."""
    return datetime.fromisoformat(re.search(r'data-auto-release="([^"]+)"', card_html).group(1))


def card_flash(card_html: str) -> str:
    return text_of(re.search(r'<div class="card-flash">.*?</div>', card_html, re.S).group(0))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def extend(client, proposal):
    return csrf_post(client, f"/proposals/{proposal.pk}/extend-auto-release/")


def test_the_buyer_pushes_the_release_back_by_the_services_most_days(as_user, team):
    proposal = bring_to(team, S.DELIVERED)
    buyer = as_user(team.buyer)
    before = card(buyer, team, proposal)
    assert BUTTON in before and "csrfmiddlewaretoken" in before
    assert f"You can push it back once, by {AUTO_RELEASE_MAX_EXTENSION_DAYS} days." in (
        text_of(before)
    )

    response = extend(buyer, proposal)

    assert response.status_code == 302
    assert response["Location"] == f"/conversations/{team.conversation.pk}/#proposal-{proposal.pk}"
    after = card(buyer, team, proposal)
    assert countdown(after) - countdown(before) == timedelta(days=7)
    assert (
        card_flash(after) == "You pushed the automatic release of “Build the shop” back by 7 days."
    )
    assert BUTTON not in after
    assert "The buyer has already pushed it back once." in text_of(after)
    stored = Proposal.objects.get(pk=proposal.pk)
    days = settings.ESCROW_AUTO_RELEASE_DAYS + 7
    assert stored.auto_release_at == stored.delivered_at + timedelta(days=days)


def test_a_double_post_extends_once(as_user, team):
    proposal = bring_to(team, S.DELIVERED)
    due = Proposal.objects.get(pk=proposal.pk).auto_release_at
    buyer = as_user(team.buyer)

    extend(buyer, proposal)
    extend(buyer, proposal)

    assert Proposal.objects.get(pk=proposal.pk).auto_release_at == due + timedelta(days=7)
    assert card_flash(card(buyer, team, proposal)) == (
        "The automatic release was already extended once."
    )
    notes = team.conversation.messages.values_list("body", flat=True)
    [note] = [body for body in notes if "extended the automatic release" in body]
    # The site's one way of writing a moment (finding 7), as on the card.
    assert note.endswith(f"by 7 days, to {moment_text(due + timedelta(days=7))} UTC.")


@pytest.mark.parametrize("who", ["leader", "m1"])
def test_a_member_sees_no_button_and_is_refused(as_user, team, who):
    proposal = bring_to(team, S.DELIVERED)
    due = Proposal.objects.get(pk=proposal.pk).auto_release_at
    client = as_user(team.people[who])
    page = card(client, team, proposal)
    assert BUTTON not in page
    assert "Only the buyer can push it back, once." in text_of(page)

    response = extend(client, proposal)

    assert response["Location"].endswith(f"#proposal-{proposal.pk}")
    assert card_flash(card(client, team, proposal)) == (
        "You are not allowed to do that. Only the buyer can extend the automatic release."
    )
    assert Proposal.objects.get(pk=proposal.pk).auto_release_at == due


def test_a_stranger_gets_404_and_nothing_moves(as_user, team):
    proposal = bring_to(team, S.DELIVERED)
    due = Proposal.objects.get(pk=proposal.pk).auto_release_at

    assert extend(as_user(UserFactory()), proposal).status_code == 404
    assert Proposal.objects.get(pk=proposal.pk).auto_release_at == due


def test_no_button_before_delivery_and_a_post_is_refused(as_user, team):
    proposal = bring_to(team, S.IN_PROGRESS)
    buyer = as_user(team.buyer)
    assert BUTTON not in card(buyer, team, proposal)

    extend(buyer, proposal)

    assert "That step is not possible any more" in card_flash(card(buyer, team, proposal))
    assert Proposal.objects.get(pk=proposal.pk).auto_release_extended_until is None


def test_a_post_without_the_csrf_token_is_refused(as_user, team):
    proposal = bring_to(team, S.DELIVERED)
    buyer = as_user(team.buyer)

    response = buyer.post(f"/proposals/{proposal.pk}/extend-auto-release/")

    assert response.status_code == 403
    assert Proposal.objects.get(pk=proposal.pk).auto_release_extended_until is None
    assert "Push the release back" in text(buyer.get(f"/conversations/{team.conversation.pk}/"))
