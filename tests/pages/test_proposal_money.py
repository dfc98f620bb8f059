"""Money on the proposal cards (issue 14, findings 2-4 and "money shown before it
moves"): the shares and the buyer's balance before accepting, a confirmation step with the
amounts on every button that moves money, what was actually paid once the escrow is
emptied, the countdown, and messages and form errors where the person is looking."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone
from djmoney.money import Money

from disputes.models import Dispute
from disputes.services import dispute_resolve
from proposals import services
from proposals.forms import ProposalForm
from proposals.models import Proposal
from tests.factories import staff_user
from tests.proposals.factories import bring_to, expect, money_state, propose

from .conftest import csrf_post, text

pytestmark = pytest.mark.django_db
S = Proposal.Status


def card(response, proposal) -> str:
    html = response.content.decode()
    found = re.search(
        rf'<article class="card proposal[^"]*" id="proposal-{proposal.pk}".*?</article>', html, re.S
    )
    assert found, "no card for the proposal"
    return found.group(0)


def words(html: str) -> str:
    spaced = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()
    return re.sub(r" ([.,;:])", r"\1", spaced)


def confirm_step(card_html: str, action: str) -> str:
    """The <details> asking before the action; its real submit button is inside it."""
    found = re.search(rf'<details [^>]*data-confirm="{action}">.*?</details>', card_html, re.S)
    assert found, f"no confirmation step for {action}"
    assert f'data-action="{action}"' in found.group(0)
    assert "csrfmiddlewaretoken" in found.group(0)
    return words(found.group(0))


def chat(client, team):
    return client.get(f"/conversations/{team.conversation.pk}/")


def test_a_pending_card_shows_the_shares_and_the_buyers_balance_before_accepting(as_user, team):
    proposal = propose(team, price="350.00")
    leader, (m1, m2) = team.leader.username, (m.username for m in team.members)
    page = card(chat(as_user(team.buyer), team), proposal)
    assert "Your available balance: 1500.00 USD; after accepting: 1150.00 USD." in words(page)
    assert (
        f"{leader}, leader commission 10.50 USD {leader} 101.50 USD {m1} 101.50 USD "
        f"{m2} 101.50 USD" in words(page)
    )
    step = confirm_step(page, "accept")
    assert "350.00 USD moves from available (1500.00 → 1150.00) into escrow." in step
    # The member sees the shares, not the buyer's wallet.
    member_view = card(chat(as_user(team.members[0]), team), proposal)
    assert "available balance" not in member_view and "101.50 USD" in member_view


def test_a_short_buyer_is_sent_to_add_funds_on_the_card_and_in_the_refusal(as_user, team):
    proposal = propose(team, price="1600.00")
    client = as_user(team.buyer)
    page = card(chat(client, team), proposal)
    assert "Your available balance: 1500.00 USD, 1600.00 USD is needed to accept. Add funds" in (
        words(page)
    )
    assert 'href="/wallet/#deposit-title">Add funds</a>' in page
    response = csrf_post(client, f"/proposals/{proposal.pk}/accept/")
    page = card(client.get(response["Location"]), proposal)
    flash = re.search(r'<div class="card-flash">.*?</div>', page, re.S).group(0)
    assert "is below the price of 1600.00 USD" in flash and "/wallet/#deposit-title" in flash


def test_confirm_cancel_and_withdraw_say_what_they_move(as_user, team):
    accepted = bring_to(team, S.ACCEPTED, price="350.00")
    step = confirm_step(card(chat(as_user(team.leader), team), accepted), "cancel")
    assert f"350.00 USD goes back from escrow to the buyer, {team.buyer.username}." in step

    started = services.proposal_start(proposal=accepted, actor=team.leader)
    delivered = services.proposal_deliver(proposal=started, actor=team.leader)
    leader, (m1, m2) = team.leader.username, (m.username for m in team.members)
    step = confirm_step(card(chat(as_user(team.buyer), team), delivered), "confirm")
    assert (
        "350.00 USD leaves escrow now: Platform fee: 35.00 USD "
        f"Leader commission to {leader}: 10.50 USD Member share to {leader}: 101.50 USD "
        f"Member share to {m1}: 101.50 USD Member share to {m2}: 101.50 USD" in step
    )

    Proposal.objects.filter(pk=delivered.pk).update(status=S.CANCELLED)  # free the slot
    pending = propose(team, price="20.00", title="Second")
    step = confirm_step(card(chat(as_user(team.leader), team), pending), "withdraw")
    assert "No money has moved yet" in step


def test_the_flash_after_accepting_is_on_the_card(as_user, team, ledger_clean):
    proposal = propose(team, price="350.00")
    client = as_user(team.buyer)
    response = csrf_post(client, f"/proposals/{proposal.pk}/accept/")
    assert response["Location"].endswith(f"#proposal-{proposal.pk}")
    page = client.get(response["Location"])
    assert "You accepted “Build the shop”: 350.00 USD is now held in escrow." in card(
        page, proposal
    )
    assert '<div class="flashes" id="flashes">' not in page.content.decode()
    assert money_state(team) == expect(team, buyer=("1150.00", "350.00"), group=("350.00", "0.00"))
    ledger_clean()


def test_a_live_refresh_before_the_redirect_leaves_the_flash_to_the_page(as_user, team):
    """The accept's own event can make the page being left re-fetch the cards before the
    browser follows the redirect: that refresh must not take the message."""
    proposal = propose(team, price="350.00")
    client = as_user(team.buyer)
    response = csrf_post(client, f"/proposals/{proposal.pk}/accept/")

    refresh = client.get(
        f"/conversations/{team.conversation.pk}/proposals/", HTTP_HX_REQUEST="true"
    )
    page = client.get(response["Location"])

    assert "You accepted" not in refresh.content.decode()
    assert "You accepted “Build the shop”: 350.00 USD is now held in escrow." in card(
        page, proposal
    )


def test_a_bad_price_keeps_the_input_and_shows_the_error_at_the_field(as_user, team):
    client = as_user(team.leader)
    response = csrf_post(
        client,
        f"/conversations/{team.conversation.pk}/proposals/new/",
        {"title": "Landing page", "description": "Fast", "price": "10.001", "currency": "USD"},
    )
    assert response["Location"].endswith("#new-proposal")
    html = client.get(response["Location"]).content.decode()
    form = re.search(r'<section id="new-proposal".*?</section>\s*<button', html, re.S).group(0)
    assert 'value="Landing page"' in form and 'value="10.001"' in form
    price_field = re.search(r'<div class="field has-error">.*?</div>\s*</div>', form, re.S).group(0)
    assert 'name="price"' in price_field
    assert "Amounts have at most two decimal places." in price_field
    assert not Proposal.objects.exists()
    # Read once: the next visit shows an empty form.
    assert 'value="10.001"' not in chat(client, team).content.decode()


@pytest.mark.parametrize("price", ["abc", "-5", "10.001"])
def test_a_bad_price_is_refused_once_in_the_words_and_with_the_code_of_the_api(
    as_user, client_for, team, price
):
    client = as_user(team.leader)
    new = f"/conversations/{team.conversation.pk}/proposals/new/"
    response = csrf_post(client, new, {"title": "Shop", "price": price, "currency": "USD"})
    html = client.get(response["Location"]).content.decode()
    errors = re.search(r'<ul class="errors" id="id_price_error">(.*?)</ul>', html, re.S)[1]
    on_the_page = [unescape(error) for error in re.findall(r"<li>(.*?)</li>", errors)]

    api = client_for(team.leader).post(
        "/api/proposals/create",
        {"conversation_id": team.conversation.pk, "title": "Shop", "price": price},
        format="json",
    )
    error = api.json()["error"]

    assert (error["code"], error["fields"]) == ("invalid_amount", {"price": [error["message"]]})
    assert on_the_page == [error["message"]]
    form = ProposalForm({"title": "Shop", "price": price, "currency": "USD"})
    assert not form.is_valid() and form.has_error("price", code="invalid_amount")
    assert not Proposal.objects.exists()


def test_a_settled_card_shows_what_was_actually_paid(as_user, team, ledger_clean):
    proposal = bring_to(team, S.DISPUTED)
    dispute_resolve(
        dispute=Dispute.objects.get(proposal=proposal),
        actor=staff_user(None, "support"),
        outcome="split",
        refund_amount=Money("400.00", "USD"),
    )
    leader, (m1, m2) = team.leader.username, (m.username for m in team.members)
    buyer = team.buyer.username
    page = card(chat(as_user(team.leader), team), proposal)
    assert words(page).count("100.00 USD") == 0  # the fee on the full price was never paid
    assert (
        f"What was paid out of escrow Price 1000.00 USD Refund to the buyer, {buyer} 400.00 USD "
        f"Platform fee 60.00 USD Leader commission to {leader} 18.00 USD "
        f"Member share to {leader} 174.00 USD Member share to {m1} 174.00 USD "
        f"Member share to {m2} 174.00 USD" in words(page)
    )
    assert (
        "You received 192.00 USD: your leader commission of 18.00 USD and your member share "
        "of 174.00 USD." in words(page)
    )
    assert "You received 174.00 USD as your member share." in words(
        card(chat(as_user(team.members[0]), team), proposal)
    )
    assert "You got 400.00 USD back." in words(card(chat(as_user(team.buyer), team), proposal))
    ledger_clean()


def test_the_countdown_says_who_can_extend_it_and_pauses_in_a_dispute(as_user, team):
    proposal = bring_to(team, S.DELIVERED)
    assert "Only the buyer can push it back, once." in text(chat(as_user(team.members[0]), team))
    assert "You can push it back once" in text(chat(as_user(team.buyer), team))
    Proposal.objects.filter(pk=proposal.pk).update(
        auto_release_extended_until=timezone.now() + timedelta(days=20)
    )
    assert "The buyer has already pushed it back once." in text(chat(as_user(team.leader), team))
    Proposal.objects.filter(pk=proposal.pk).update(status=S.DISPUTED)
    assert "The automatic release is paused while the dispute is open" in text(
        chat(as_user(team.buyer), team)
    )


def test_the_chat_page_stays_within_its_query_budget(as_user, team, django_assert_max_num_queries):
    bring_to(team, S.COMPLETED, price="350.00")
    propose(team, price="20.00", title="Next")
    client = as_user(team.buyer)
    chat(client, team)
    with django_assert_max_num_queries(24):
        response = chat(client, team)
    assert response.status_code == 200


def test_the_leader_is_told_why_the_proposal_form_is_away_while_one_is_open(as_user, team):
    from tests.proposals.factories import propose

    chat = f"/conversations/{team.conversation.pk}/"
    before = as_user(team.leader).get(chat).content.decode()
    propose(team, "100.00")
    during = as_user(team.leader).get(chat).content.decode()

    waiting = "You can send a new proposal when the open one is finished, withdrawn or rejected."
    assert waiting not in before
    assert waiting in during
    assert waiting not in as_user(team.buyer).get(chat).content.decode()
