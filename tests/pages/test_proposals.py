"""Proposal cards in the chat: the fee breakdown, each viewer's own share and buttons, the
new-proposal form, and every action through the pages with exact balances."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from proposals.models import Proposal
from tests.factories import UserFactory
from tests.proposals.factories import bring_to, expect, money_state, propose

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db
S = Proposal.Status


def chat(client, team):
    return client.get(f"/conversations/{team.conversation.pk}/")


def buttons(response, proposal) -> list[str]:
    """The actions on the proposal's card, by the data-action of its buttons and links."""
    html = response.content.decode()
    card = re.search(
        rf'<article class="card proposal[^"]*" id="proposal-{proposal.pk}".*?</article>', html, re.S
    )
    assert card, "no card for the proposal"
    card = card.group(0)
    actions = re.findall(r'data-action="(\w+)"', card)
    if "/dispute/" in card:
        actions.append("dispute")
    if "Request changes" in card:
        actions.append("request_changes")
    return sorted(actions)


def test_the_pending_card_shows_the_breakdown_and_each_viewers_share(as_user, team):
    proposal = propose(team, price="1000.00")
    for who in ("buyer", "leader", "m1", "m2"):
        page = text(chat(as_user(team.people[who]), team))
        assert "Build the shop Pending" in page
        assert "Price 1000.00 USD" in page
        assert "Platform fee (10%) 100.00 USD" in page
        assert "Leader commission (3%) 30.00 USD" in page
        assert "Member pool 870.00 USD" in page
        assert "Held in escrow 0.00 USD" in page
    # 870.00 among three members: 290.00 each; the leader also gets the commission.
    leader = text(chat(as_user(team.leader), team))
    assert (
        "Your expected share of the member pool: 290.00 USD (shared equally by 3 members), "
        "plus the leader commission of 30.00 USD." in leader
    )
    member = text(chat(as_user(team.members[0]), team))
    assert "Your expected share of the member pool: 290.00 USD (shared equally by 3 members)." in (
        member
    )
    assert "expected share" not in text(chat(as_user(team.buyer), team))
    assert buttons(chat(as_user(team.buyer), team), proposal) == ["accept", "reject"]
    assert buttons(chat(as_user(team.leader), team), proposal) == ["withdraw"]
    assert buttons(chat(as_user(team.members[0]), team), proposal) == []


def test_leftover_cents_go_to_the_earliest_members(as_user, team):
    propose(team, price="100.01")  # fee 10.00, commission 3.00, pool 87.01 -> 29.01, 29.00, 29.00
    assert "share of the member pool: 29.01 USD" in text(chat(as_user(team.leader), team))
    assert "share of the member pool: 29.00 USD" in text(chat(as_user(team.members[1]), team))


def test_the_leader_sees_the_new_proposal_form_with_rates_and_members(as_user, team):
    page = chat(as_user(team.leader), team)
    html = page.content.decode()
    assert 'id="new-proposal"' in html
    assert 'data-platform-rate="0.1000"' in html and 'data-leader-rate="0.0300"' in html
    names = ",".join(u.username for u in [team.leader, *team.members])
    assert f'data-members="{names}"' in html
    assert "Platform fee (10%)" in text(page) and "Member pool (87%)" in text(page)
    for who in (team.buyer, team.members[0]):
        assert 'id="new-proposal"' not in chat(as_user(who), team).content.decode()


def test_sending_a_proposal_shows_the_servers_numbers(as_user, team):
    client = as_user(team.leader)
    response = csrf_post(
        client,
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Landing page", "description": "", "price": "333.33", "currency": "USD"},
    )
    proposal = Proposal.objects.get()
    assert response["Location"] == f"/conversations/{team.conversation.pk}/#proposal-{proposal.pk}"
    assert flashes(response) == [
        "Your proposal “Landing page” for 333.33 USD was sent: platform fee 33.33 USD, "
        "leader commission 10.00 USD, member pool 290.00 USD."
    ]
    # One open proposal per conversation: the form is gone and a second is refused.
    assert 'id="new-proposal"' not in chat(client, team).content.decode()
    response = csrf_post(
        client,
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Again", "price": "10.00", "currency": "USD"},
    )
    assert flashes(response) == [
        "This conversation already has an open proposal. It must be finished, withdrawn or "
        "rejected before a new one can be sent."
    ]
    response = csrf_post(
        client,
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Bad", "price": "10.001", "currency": "USD"},
    )
    assert flashes(response) == ["Amounts have at most two decimal places."]
    assert Proposal.objects.count() == 1


def test_a_member_cannot_send_a_proposal(as_user, team):
    response = csrf_post(
        as_user(team.members[0]),
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Mine", "price": "10.00", "currency": "USD"},
    )
    assert flashes(response) == [
        "You are not allowed to do that. Only the group's leader can send a proposal."
    ]
    assert not Proposal.objects.exists()


def test_accept_with_too_little_money_is_refused_in_words(as_user, team, ledger_clean):
    proposal = propose(team, price="1600.00")
    response = csrf_post(as_user(team.buyer), f"/proposals/{proposal.pk}/accept/")
    assert response["Location"] == f"/conversations/{team.conversation.pk}/#proposal-{proposal.pk}"
    assert flashes(response) == [
        "Your available balance, 1500.00 USD, is below the price of 1600.00 USD. "
        "Add funds to accept."
    ]
    proposal.refresh_from_db()
    assert proposal.status == S.PENDING
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_a_member_cannot_accept_and_the_buyer_cannot_deliver(as_user, team):
    proposal = propose(team)
    response = csrf_post(as_user(team.members[0]), f"/proposals/{proposal.pk}/accept/")
    assert flashes(response) == [
        "You are not allowed to do that. Only the buyer can accept this proposal."
    ]
    proposal = bring_to_accepted(team, proposal)
    assert "deliver" not in buttons(chat(as_user(team.buyer), team), proposal)
    response = csrf_post(as_user(team.buyer), f"/proposals/{proposal.pk}/deliver/")
    assert flashes(response) == [
        "You are not allowed to do that. Only the group's leader can deliver this proposal."
    ]
    proposal.refresh_from_db()
    assert proposal.status == S.ACCEPTED


def bring_to_accepted(team, proposal):
    from proposals.services import proposal_accept

    return proposal_accept(proposal=proposal, actor=team.buyer)


def test_strangers_get_404_on_proposal_actions(as_user, team):
    proposal = propose(team)
    client = as_user(UserFactory())
    assert csrf_post(client, f"/proposals/{proposal.pk}/accept/").status_code == 404
    assert client.get(f"/conversations/{team.conversation.pk}/proposals/").status_code == 404
    assert client.get(f"/proposals/{proposal.pk}/tasks/").status_code == 404


def test_the_whole_deal_through_the_pages_with_exact_balances(as_user, team, ledger_clean):
    buyer, leader, m1 = as_user(team.buyer), as_user(team.leader), as_user(team.members[0])
    csrf_post(
        leader,
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Shop", "price": "1000.00", "currency": "USD"},
    )
    proposal = Proposal.objects.get()

    response = csrf_post(buyer, f"/proposals/{proposal.pk}/accept/")
    assert flashes(response) == ["You accepted “Shop”: 1000.00 USD is now held in escrow."]
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()
    wallet = text(buyer.get("/wallet/"))
    assert "Available 500.00 USD In escrow 1000.00 USD Total 1500.00 USD" in wallet
    assert "Paid into escrow for “Shop” \N{MINUS SIGN}1000.00 USD" in wallet

    assert buttons(chat(buyer, team), proposal) == ["dispute"]
    assert buttons(chat(leader, team), proposal) == ["cancel", "deliver", "dispute", "start"]
    assert buttons(chat(m1, team), proposal) == []

    response = csrf_post(leader, f"/proposals/{proposal.pk}/start/")
    assert flashes(response) == ["Work on “Shop” has started."]
    response = csrf_post(leader, f"/proposals/{proposal.pk}/deliver/")
    assert flashes(response) == [
        "“Shop” is delivered. The buyer can now confirm it or request changes."
    ]
    page = chat(buyer, team)
    assert buttons(page, proposal) == [
        "confirm",
        "dispute",
        "extend_auto_release",
        "request_changes",
    ]
    proposal.refresh_from_db()
    release = proposal.delivered_at + timedelta(days=14)
    assert (
        "Unless you confirm or dispute it first, the payment is released automatically on "
        f"{release:%-d %b %Y, %H:%M} (in 1" in text(page)
    )
    assert "Unless the buyer confirms or disputes it first" in text(chat(m1, team))

    response = csrf_post(
        buyer, f"/proposals/{proposal.pk}/request_changes/", {"note": "Bigger logo"}
    )
    assert flashes(response) == ["You asked the group for changes to “Shop”."]
    csrf_post(leader, f"/proposals/{proposal.pk}/deliver/")

    response = csrf_post(buyer, f"/proposals/{proposal.pk}/confirm/")
    assert flashes(response) == [
        "You confirmed “Shop”: the escrow of 1000.00 USD was released to the group."
    ]
    assert money_state(team) == expect(
        team,
        buyer=("500.00", "0.00"),
        leader=("320.00", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.00"),  # released to the leader and members
        platform="100.00",
    )
    ledger_clean()
    assert "You received 290.00 USD as your member share." in text(chat(m1, team))
    assert "Available 320.00 USD In escrow 0.00 USD Total 320.00 USD" in text(
        leader.get("/wallet/")
    )
    leader_wallet = text(leader.get("/wallet/"))
    assert "Your leader commission on “Shop” +30.00 USD" in leader_wallet
    assert "Your member share of “Shop” +290.00 USD" in leader_wallet
    # A repeated confirmation changes nothing and says why.
    response = csrf_post(buyer, f"/proposals/{proposal.pk}/confirm/")
    assert flashes(response) == [
        "That step is not possible any more: Cannot confirm a proposal that is completed. "
        "The page now shows the current state."
    ]
    ledger_clean()


def test_reject_withdraw_and_cancel(as_user, team, ledger_clean):
    proposal = propose(team)
    response = csrf_post(as_user(team.buyer), f"/proposals/{proposal.pk}/reject/")
    assert flashes(response) == ["You rejected “Build the shop”."]
    proposal = propose(team, title="Second")
    response = csrf_post(as_user(team.leader), f"/proposals/{proposal.pk}/withdraw/")
    assert flashes(response) == ["You withdrew “Second”."]
    proposal = bring_to(team, S.ACCEPTED, price="400.00")
    response = csrf_post(as_user(team.leader), f"/proposals/{proposal.pk}/cancel/")
    assert flashes(response) == [
        "You cancelled “Build the shop”: 400.00 USD was refunded to the buyer."
    ]
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_the_panel_partial_is_what_htmx_refetches(as_user, team):
    proposal = propose(team)
    response = as_user(team.buyer).get(f"/conversations/{team.conversation.pk}/proposals/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="proposal-panel"')
    assert 'hx-trigger="mp-proposal from:body"' in html
    assert f'id="proposal-{proposal.pk}"' in html
    assert "<html" not in html


def test_request_changes_needs_a_note(as_user, team):
    proposal = bring_to(team, S.DELIVERED)
    response = csrf_post(as_user(team.buyer), f"/proposals/{proposal.pk}/request_changes/")
    assert flashes(response) == ["Say what should change before sending the request."]
    proposal.refresh_from_db()
    assert proposal.status == S.DELIVERED
    assert proposal.delivered_at <= timezone.now()
