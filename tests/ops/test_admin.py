"""The admin's money actions, driven through Django's test client as a finance user, a
support user and a plain staff user, with exact balances and a clean ledger after each."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse

from disputes.models import Dispute
from disputes.services import dispute_add_message, dispute_open
from escrow.models import EscrowTransaction, Wallet
from marketplace.core.models import Notification
from proposals.models import Proposal
from tests.proposals.factories import bring_to, expect, make_team, money_state

S = Proposal.Status
CHANGELIST = "/admin/proposals/proposal/"
ACTION_FIELD = "_selected_action"

pytestmark = pytest.mark.django_db


def _action(client, proposal, action, **extra):
    return client.post(CHANGELIST, {"action": action, ACTION_FIELD: [proposal.pk], **extra})


def test_the_roles_migration_made_the_groups_with_their_permissions():
    def codenames(name):
        group = Group.objects.get(name=name)
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())

    assert codenames("support") == ["disputes.resolve_dispute", "marketplace.view_user"]
    assert codenames("finance") == [
        "escrow.adjust_wallet",
        "escrow.view_fee_statement",
        "proposals.refund_escrow",
        "proposals.release_escrow",
    ]


def test_finance_releases_escrow_after_a_confirmation_showing_the_exact_split(
    finance, admin_client_for, ledger_clean
):
    team = make_team(members=2)
    proposal = bring_to(team, S.DELIVERED, price="1000.01")
    client = admin_client_for(finance)

    page = _action(client, proposal, "release_escrow")

    assert page.status_code == 200
    html = page.content.decode()
    assert "admin/proposals/proposal/escrow_confirmation.html" in [t.name for t in page.templates]
    # 10 % and 3 % rounded half up; the pool of 870.01 split three ways, the leftover cent
    # to the earliest member (the leader).
    assert 'data-line="Platform fee:platform">100.00 USD' in html
    assert f'data-line="Leader commission:{team.leader.username}">30.00 USD' in html
    assert f'data-line="Member share:{team.leader.username}">290.01 USD' in html
    for member in team.members:
        assert f'data-line="Member share:{member.username}">290.00 USD' in html
    assert money_state(team)["buyer"] == ("499.99", "1000.01")  # nothing moved yet

    missing_reason = _action(client, proposal, "release_escrow", confirm="yes", reason=" ")
    assert missing_reason.status_code == 200
    assert "This field is required." in missing_reason.content.decode()
    assert Proposal.objects.get(pk=proposal.pk).status == S.DELIVERED

    done = _action(
        client, proposal, "release_escrow", confirm="yes", reason="Buyer confirmed by e-mail."
    )

    assert done.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == S.COMPLETED
    assert money_state(team) == expect(
        team,
        buyer=("499.99", "0.00"),
        leader=("320.01", "0.00"),
        m1=("290.00", "0.00"),
        m2=("290.00", "0.00"),
        group=("0.00", "900.01"),
        platform="100.00",
    )
    legs = EscrowTransaction.objects.filter(from_hold=proposal.escrow_hold)
    assert {leg.actor_id for leg in legs} == {finance.pk}
    entry = LogEntry.objects.get(object_id=str(proposal.pk), user=finance)
    assert entry.change_message == "Release escrow: Buyer confirmed by e-mail."
    told = Notification.objects.filter(kind="proposal_completed", data__proposal_id=proposal.pk)
    assert set(told.values_list("user", flat=True)) == {
        team.leader.pk,
        *(m.pk for m in team.members),
    }
    assert told.first().body.startswith("Staff released the escrow")
    assert "Buyer confirmed by e-mail." in proposal.conversation.messages.last().body
    ledger_clean()


def test_finance_refunds_an_in_progress_proposal(finance, admin_client_for, ledger_clean):
    team = make_team(members=1)
    proposal = bring_to(team, S.IN_PROGRESS, price="400.00")
    client = admin_client_for(finance)

    page = _action(client, proposal, "refund_escrow")
    assert f'data-line="Refund to the buyer:{team.buyer.username}">400.00 USD' in (
        page.content.decode()
    )
    done = _action(client, proposal, "refund_escrow", confirm="yes", reason="Group vanished.")

    assert done.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == S.REFUNDED
    assert proposal.escrow_amount.amount == 0
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


def test_a_disputed_proposal_goes_to_the_dispute_desk_instead(
    finance, admin_client_for, ledger_clean
):
    team = make_team()
    proposal = bring_to(team, S.DISPUTED)
    client = admin_client_for(finance)

    page = _action(client, proposal, "release_escrow")
    assert "Disputed: resolve it at the dispute desk." in page.content.decode()
    done = _action(client, proposal, "release_escrow", confirm="yes", reason="Try anyway.")

    assert done.status_code == 302
    messages = [str(m) for m in done.wsgi_request._messages]
    assert messages == [
        f"Proposal #{proposal.pk}: This proposal is disputed: resolve it at the dispute desk."
    ]
    assert Proposal.objects.get(pk=proposal.pk).status == S.DISPUTED
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


@pytest.mark.parametrize("who", ["plain_staff", "support"])
@pytest.mark.parametrize("action", ["release_escrow", "refund_escrow"])
def test_staff_without_the_finance_role_see_no_money_actions_and_are_refused(
    who, action, request, admin_client_for, ledger_clean
):
    user = request.getfixturevalue(who)
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)
    client = admin_client_for(user)

    listing = client.get(CHANGELIST)
    assert listing.status_code == 200
    html = listing.content.decode()
    assert proposal.title in html
    assert 'value="release_escrow"' not in html
    assert 'value="refund_escrow"' not in html

    assert _action(client, proposal, action).status_code == 403
    refused = _action(client, proposal, action, confirm="yes", reason="Because.")
    assert refused.status_code == 403
    assert Proposal.objects.get(pk=proposal.pk).status == S.DELIVERED
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


# --- the dispute desk ---------------------------------------------------------------


def _dispute(team, price="1000.00"):
    proposal = bring_to(team, S.DELIVERED, price=price)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Half of it is missing.")
    dispute_add_message(dispute=dispute, actor=team.leader, body="Everything was delivered.")
    return dispute


def test_the_desk_lists_open_disputes_by_age_with_price_and_parties(support, admin_client_for):
    older = _dispute(make_team(), price="250.00")
    newer = _dispute(make_team(), price="900.00")
    Dispute.objects.filter(pk=older.pk).update(created_at=older.created_at.replace(year=2025))
    client = admin_client_for(support)

    page = client.get("/admin/disputes/dispute/")

    html = page.content.decode()
    assert page.status_code == 200
    for column in ("age", "proposal price", "parties"):
        assert f">{column.capitalize()}<" in html or column in html.lower()
    assert html.index("250.00 USD") < html.index("900.00 USD")  # oldest first
    assert "buyer <strong>" in html
    by_price = client.get("/admin/disputes/dispute/?o=3")  # the price column, ascending
    assert by_price.status_code == 200

    detail = client.get(f"/admin/disputes/dispute/{newer.pk}/change/")
    assert "Everything was delivered." in detail.content.decode()
    assert f"/admin/disputes/dispute/{newer.pk}/resolve/" in detail.content.decode()


def test_support_resolves_a_dispute_with_a_split(support, admin_client_for, ledger_clean):
    team = make_team(members=2)
    dispute = _dispute(team)
    client = admin_client_for(support)
    url = f"/admin/disputes/dispute/{dispute.pk}/resolve/"

    form = client.get(url)
    assert form.status_code == 200
    assert "Everything was delivered." in form.content.decode()

    bad = client.post(url, {"outcome": "split", "refund_amount": "1000.00", "note": "Half."})
    assert bad.status_code == 200
    assert "less than the price" in bad.content.decode()
    assert Dispute.objects.get(pk=dispute.pk).status == Dispute.Status.OPEN

    done = client.post(url, {"outcome": "split", "refund_amount": "250.00", "note": "Partly."})

    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome, dispute.resolved_by) == ("resolved", "split", support)
    assert dispute.refund_amount.amount == 250
    # 750.00 released: fee 75.00, commission 22.50, pool 652.50 in three shares of 217.50.
    assert money_state(team) == expect(
        team,
        buyer=("750.00", "0.00"),
        leader=("240.00", "0.00"),
        m1=("217.50", "0.00"),
        m2=("217.50", "0.00"),
        group=("0.00", "675.00"),
        platform="75.00",
    )
    assert Proposal.objects.get(pk=dispute.proposal_id).status == S.SETTLED
    ledger_clean()


@pytest.mark.parametrize("outcome,status", [("refund", S.REFUNDED), ("release", S.COMPLETED)])
def test_support_refunds_or_releases(outcome, status, support, admin_client_for, ledger_clean):
    team = make_team(members=1)
    dispute = _dispute(team, price="200.00")

    done = admin_client_for(support).post(
        f"/admin/disputes/dispute/{dispute.pk}/resolve/", {"outcome": outcome, "note": "Done."}
    )

    assert done.status_code == 302
    assert Proposal.objects.get(pk=dispute.proposal_id).status == status
    if outcome == "refund":
        assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    else:
        assert money_state(team) == expect(
            team,
            buyer=("1300.00", "0.00"),
            leader=("93.00", "0.00"),
            m1=("87.00", "0.00"),
            group=("0.00", "180.00"),
            platform="20.00",
        )
    ledger_clean()


@pytest.mark.parametrize("who", ["plain_staff", "finance"])
def test_only_support_resolves(who, request, admin_client_for, ledger_clean):
    user = request.getfixturevalue(who)
    team = make_team()
    dispute = _dispute(team)
    client = admin_client_for(user)
    url = f"/admin/disputes/dispute/{dispute.pk}/resolve/"

    detail = client.get(f"/admin/disputes/dispute/{dispute.pk}/change/")
    assert detail.status_code == 200
    assert url not in detail.content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {"outcome": "refund", "note": "No."}).status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == Dispute.Status.OPEN
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    ledger_clean()


# --- wallets ------------------------------------------------------------------------


def _adjust_url(wallet):
    return reverse("admin:escrow_wallet_adjust", args=[wallet.pk])


def test_finance_adjusts_a_wallet_through_the_ledger(finance, admin_client_for, ledger_clean):
    team = make_team(members=0, deposit="100.00")
    wallet = Wallet.objects.get(user=team.buyer)
    client = admin_client_for(finance)

    chosen = client.post(
        "/admin/escrow/wallet/", {"action": "adjust_balance", ACTION_FIELD: [wallet.pk]}
    )
    assert chosen.status_code == 302
    assert chosen["Location"] == _adjust_url(wallet)
    form = client.get(_adjust_url(wallet))
    assert form.status_code == 200
    key = form.context["form"].initial["idempotency_key"]

    credit = {"amount": "25.50", "reason": "Goodwill for the outage.", "idempotency_key": key}
    assert client.post(_adjust_url(wallet), credit).status_code == 302
    assert client.post(_adjust_url(wallet), credit).status_code == 302  # resubmitted: once
    wallet.refresh_from_db()
    assert str(wallet.available_balance.amount) == "125.50"
    ledger_clean()

    debit = {"amount": "-125.51", "reason": "Chargeback.", "idempotency_key": "admin-adjust:2"}
    refused = client.post(_adjust_url(wallet), debit)
    assert refused.status_code == 200
    assert "is below the debit of 125.51 USD" in refused.content.decode()
    debit["amount"] = "-125.50"
    assert client.post(_adjust_url(wallet), debit).status_code == 302

    wallet.refresh_from_db()
    assert str(wallet.available_balance.amount) == "0.00"
    entries = EscrowTransaction.objects.filter(kind="adjustment").order_by("id")
    assert [(str(e.amount.amount), e.memo, e.actor_id) for e in entries] == [
        ("25.50", "Goodwill for the outage.", finance.pk),
        ("125.50", "Chargeback.", finance.pk),
    ]
    assert entries[0].to_wallet_id == wallet.pk and entries[1].from_wallet_id == wallet.pk
    ledger_clean()


@pytest.mark.parametrize("who", ["plain_staff", "support"])
def test_other_staff_cannot_adjust_or_edit_balances(who, request, admin_client_for, ledger_clean):
    user = request.getfixturevalue(who)
    team = make_team(members=0, deposit="100.00")
    wallet = Wallet.objects.get(user=team.buyer)
    client = admin_client_for(user)

    listing = client.get("/admin/escrow/wallet/")
    assert listing.status_code == 200
    assert 'value="adjust_balance"' not in listing.content.decode()
    assert (
        client.post(
            "/admin/escrow/wallet/", {"action": "adjust_balance", ACTION_FIELD: [wallet.pk]}
        ).status_code
        == 403
    )
    assert client.get(_adjust_url(wallet)).status_code == 403
    payload = {"amount": "5.00", "reason": "Hm.", "idempotency_key": "k"}
    assert client.post(_adjust_url(wallet), payload).status_code == 403
    # The change form is read-only for everyone: a POST cannot write a balance.
    change = client.post(
        f"/admin/escrow/wallet/{wallet.pk}/change/", {"available_balance_0": "999.00"}
    )
    assert change.status_code == 403
    wallet.refresh_from_db()
    assert str(wallet.available_balance.amount) == "100.00"
    ledger_clean()


def test_the_admin_index_links_the_operations_pages(finance, plain_staff, admin_client_for):
    html = admin_client_for(finance).get("/admin/").content.decode()
    assert 'href="/admin/metrics/"' in html
    assert 'href="/admin/escrow/escrowtransaction/fees-by-month.csv"' in html
    other = admin_client_for(plain_staff).get("/admin/").content.decode()
    assert 'href="/admin/metrics/"' in other
    assert "fees-by-month.csv" not in other
