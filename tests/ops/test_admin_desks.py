"""The staff desks of issue 14 (finding 8): the escrow holds list writes money as the
rest of the site does and names the proposal; finance releasing a proposal that was never
delivered is told so and must say why."""

import pytest
from django.urls import reverse

from proposals.models import Proposal
from tests.proposals.factories import bring_to, make_team, money_state

pytestmark = pytest.mark.django_db

S = Proposal.Status
CHANGELIST = reverse("admin:proposals_proposal_changelist")


def _release(client, proposal, **extra):
    return client.post(
        CHANGELIST,
        {"action": "release_escrow", "_selected_action": [proposal.pk], **extra},
    )


def test_the_escrow_holds_list_writes_amounts_and_names_the_proposal(finance, admin_client_for):
    team = make_team(members=1)
    proposal = bring_to(team, S.ACCEPTED, price="650.00")

    html = admin_client_for(finance).get("/admin/escrow/escrowhold/").content.decode()

    assert "650.00 USD" in html and "$650.00" not in html
    link = reverse("admin:proposals_proposal_change", args=[proposal.pk])
    assert f'<a href="{link}">#{proposal.pk} {proposal.title}</a>' in html


@pytest.mark.parametrize("status", [S.ACCEPTED, S.IN_PROGRESS])
def test_releasing_an_undelivered_proposal_is_flagged_and_needs_a_reason(
    finance, admin_client_for, ledger_clean, status
):
    team = make_team(members=1)
    proposal = bring_to(team, status, price="400.00")
    client = admin_client_for(finance)

    page = _release(client, proposal).content.decode()
    assert f'data-undelivered="{proposal.pk}">Never delivered' in page
    assert "I release it although the group never delivered the work" in page

    # A reason alone is not enough: the release before delivery must be acknowledged.
    refused = _release(client, proposal, confirm="yes", reason="Buyer asked by e-mail.")
    assert refused.status_code == 200
    assert "This field is required." in refused.content.decode()
    no_reason = _release(client, proposal, confirm="yes", reason=" ", before_delivery="on")
    assert no_reason.status_code == 200
    assert Proposal.objects.get(pk=proposal.pk).status == status
    assert money_state(team)["buyer"] == ("1100.00", "400.00")  # nothing moved

    done = _release(
        client, proposal, confirm="yes", reason="Buyer asked by e-mail.", before_delivery="on"
    )

    assert done.status_code == 302
    assert Proposal.objects.get(pk=proposal.pk).status == S.COMPLETED
    assert money_state(team)["buyer"] == ("1100.00", "0.00")
    ledger_clean()


def test_releasing_a_delivered_proposal_asks_only_the_reason(finance, admin_client_for):
    team = make_team(members=1)
    proposal = bring_to(team, S.DELIVERED, price="400.00")
    client = admin_client_for(finance)

    page = _release(client, proposal).content.decode()
    assert "data-undelivered" not in page and "before_delivery" not in page
    done = _release(client, proposal, confirm="yes", reason="Buyer confirmed by phone.")

    assert done.status_code == 302
    assert Proposal.objects.get(pk=proposal.pk).status == S.COMPLETED
    assert money_state(team)["buyer"] == ("1100.00", "0.00")
