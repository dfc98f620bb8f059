"""Disputes: opening one with a reason, the evidence thread, status and outcome."""

import pytest
from djmoney.money import Money

from disputes.models import Dispute
from disputes.services import dispute_resolve
from proposals.models import Proposal
from tests.factories import UserFactory, staff_user
from tests.proposals.factories import bring_to, expect, money_state

from .conftest import csrf_post, flashes, text

pytestmark = pytest.mark.django_db
S = Proposal.Status


def test_the_buyer_opens_a_dispute_and_the_escrow_freezes(as_user, team, ledger_clean):
    proposal = bring_to(team, S.DELIVERED)
    buyer = as_user(team.buyer)
    page = buyer.get(f"/proposals/{proposal.pk}/dispute/")
    assert page.status_code == 200
    assert "Opening a dispute freezes the escrow of 1000.00 USD" in text(page)
    response = csrf_post(buyer, f"/proposals/{proposal.pk}/dispute/", {"reason": "  "})
    assert response.status_code == 200
    assert "This field is required." in text(response)
    response = csrf_post(
        buyer, f"/proposals/{proposal.pk}/dispute/", {"reason": "The shop does not load."}
    )
    dispute = Dispute.objects.get()
    assert response["Location"] == f"/disputes/{dispute.pk}/"
    assert flashes(response) == [
        "Your dispute is open. The escrow is frozen until staff resolve it; add any evidence below."
    ]
    proposal.refresh_from_db()
    assert proposal.status == S.DISPUTED
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()
    # The card links to it; confirming is no longer offered, and refused if forced.
    chat = text(buyer.get(f"/conversations/{team.conversation.pk}/"))
    assert f"Dispute #{dispute.pk}: open" in chat
    assert "Confirm delivery" not in chat
    response = csrf_post(buyer, f"/proposals/{proposal.pk}/confirm/")
    assert flashes(response) == [
        "That step is not possible any more: Cannot confirm a proposal that is disputed. "
        "The page now shows the current state."
    ]
    ledger_clean()


def test_the_evidence_thread_for_every_party(as_user, team):
    proposal = bring_to(team, S.DISPUTED)
    dispute = Dispute.objects.get(proposal=proposal)
    for who in ("buyer", "leader", "m1"):
        client = as_user(team.people[who])
        page = client.get(f"/disputes/{dispute.pk}/")
        assert page.status_code == 200
        assert "Status Open" in text(page) and "Outcome Waiting for staff" in text(page)
        assert "Not what we agreed." in text(page)
        response = csrf_post(client, f"/disputes/{dispute.pk}/messages/", {"body": f"From {who}"})
        assert flashes(response) == ["Your evidence was added to the dispute."]
    thread = text(as_user(team.buyer).get(f"/disputes/{dispute.pk}/thread/"))
    assert thread.index("From buyer") < thread.index("From leader") < thread.index("From m1")
    assert f"“{proposal.title}”" in text(as_user(team.members[1]).get("/disputes/"))


def test_the_outcome_is_shown_once_staff_resolve(as_user, team, ledger_clean):
    proposal = bring_to(team, S.DISPUTED)
    dispute = Dispute.objects.get(proposal=proposal)
    staff = staff_user(None, "support")
    dispute_resolve(
        dispute=dispute,
        actor=staff,
        outcome="split",
        refund_amount=Money("400.00", "USD"),
        note="Half done.",
    )
    page = text(as_user(team.buyer).get(f"/disputes/{dispute.pk}/"))
    assert "Status Resolved" in page and "Outcome Split" in page
    assert (
        "Staff split it: 400.00 USD back to the buyer, the rest released to the group. "
        "Their note: “Half done.”" in page
    )
    assert "Add to the dispute" not in page
    # 600.00 released: fee 60.00, commission 18.00, pool 522.00 = 174.00 x 3
    assert money_state(team) == expect(
        team,
        buyer=("900.00", "0.00"),
        leader=("192.00", "0.00"),
        m1=("174.00", "0.00"),
        m2=("174.00", "0.00"),
        group=("0.00", "540.00"),
        platform="60.00",
    )
    ledger_clean()
    response = csrf_post(as_user(team.buyer), f"/disputes/{dispute.pk}/messages/", {"body": "Late"})
    assert flashes(response) == ["This dispute is resolved: nothing can be added any more."]


def test_a_member_cannot_open_one_and_strangers_get_404(as_user, team):
    proposal = bring_to(team, S.IN_PROGRESS)
    member = as_user(team.members[0])
    page = member.get(f"/proposals/{proposal.pk}/dispute/")
    assert "can be opened only by the buyer or the group's leader" in text(page)
    response = csrf_post(member, f"/proposals/{proposal.pk}/dispute/", {"reason": "x"})
    assert "You are not allowed to do that." in text(response)
    assert not Dispute.objects.exists()
    dispute_proposal = bring_to_disputed(team, proposal)
    dispute = Dispute.objects.get(proposal=dispute_proposal)
    stranger = as_user(UserFactory())
    assert stranger.get(f"/proposals/{proposal.pk}/dispute/").status_code == 404
    assert stranger.get(f"/disputes/{dispute.pk}/").status_code == 404
    assert (
        csrf_post(stranger, f"/disputes/{dispute.pk}/messages/", {"body": "x"}).status_code == 404
    )


def bring_to_disputed(team, proposal):
    from disputes.services import dispute_open

    dispute_open(proposal=proposal, actor=team.leader, reason="The buyer went silent.")
    proposal.refresh_from_db()
    return proposal
