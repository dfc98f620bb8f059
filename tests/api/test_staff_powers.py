"""Staff powers come from the role, are checked in the service before any input, and never
cover a case the staff user takes part in (issue 10, items 2 and 16)."""

import pytest
from djmoney.money import Money

from disputes.models import Dispute
from disputes.services import dispute_open, dispute_resolve
from escrow.services import wallet_adjust, wallet_get_or_open
from marketplace.core.errors import Forbidden
from proposals.models import Proposal
from proposals.services import proposal_refund_by_staff, proposal_release_by_staff
from tests.factories import role, staff_user
from tests.proposals.factories import bring_to, expect, make_team, money_state

pytestmark = pytest.mark.django_db
S = Proposal.Status
HELD = {"buyer": ("500.00", "1000.00"), "group": ("1000.00", "0.00")}


@pytest.fixture
def disputed():
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="It does not work.")
    return team, proposal, dispute


def resolve(client, dispute, body):
    return client.post(f"/api/disputes/{dispute.pk}/resolve", body, format="json")


def make_staff(user, *roles):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    for name in roles:
        user.groups.add(role(name))
    return user


def assert_untouched(team, dispute):
    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert Proposal.objects.get(pk=dispute.proposal_id).status == S.DISPUTED
    assert money_state(team) == expect(team, **HELD)


@pytest.mark.parametrize("roles", [(), ("finance",)], ids=["no role", "finance"])
def test_staff_without_the_support_role_are_refused(client_for, disputed, ledger_clean, roles):
    team, _, dispute = disputed
    outsider = staff_user(None, *roles)

    # Through the API the dispute is not theirs to see, like a stranger's.
    response = resolve(client_for(outsider), dispute, {"outcome": "refund", "note": "x"})
    assert response.status_code == 404
    # The service refuses them before it looks at the input.
    with pytest.raises(Forbidden):
        dispute_resolve(dispute=dispute, actor=outsider, outcome="nonsense", note="")
    assert_untouched(team, dispute)
    ledger_clean()


@pytest.mark.parametrize("party", ["buyer", "leader", "m1"])
def test_support_staff_cannot_resolve_a_dispute_they_take_part_in(
    client_for, disputed, ledger_clean, party
):
    team, _, dispute = disputed
    insider = make_staff(team.people[party], "support")

    for body in ({"outcome": "refund", "note": "Mine."}, {"outcome": "nonsense"}):
        response = resolve(client_for(insider), dispute, body)
        assert response.status_code == 403, body  # before the body is validated
        assert "take part" in response.json()["error"]["message"]
    assert_untouched(team, dispute)
    ledger_clean()


def test_a_former_participant_with_the_support_role_cannot_resolve(
    client_for, disputed, ledger_clean
):
    from marketplace.core.services import group_leave

    team, _, dispute = disputed
    former = team.people["m1"]
    group_leave(group=team.group, user=former)
    make_staff(former, "support")

    response = resolve(client_for(former), dispute, {"outcome": "refund", "note": "x"})

    assert response.status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == Dispute.Status.OPEN
    ledger_clean()


def test_support_staff_outside_the_case_resolve_it(client_for, disputed, ledger_clean):
    team, _, dispute = disputed

    support = client_for(staff_user(None, "support"))
    response = resolve(support, dispute, {"outcome": "refund", "note": "Never delivered."})

    assert response.status_code == 200, response.json()
    assert money_state(team) == expect(team, buyer=("1500.00", "0.00"))
    ledger_clean()


@pytest.mark.parametrize("service", [proposal_release_by_staff, proposal_refund_by_staff])
def test_finance_staff_cannot_settle_their_own_deal(service, ledger_clean):
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)
    insider = make_staff(team.buyer, "finance")

    with pytest.raises(Forbidden, match="take part"):
        service(proposal=proposal, actor=insider, reason="Paying myself back.")

    assert Proposal.objects.get(pk=proposal.pk).status == S.DELIVERED
    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


@pytest.mark.parametrize("service", [proposal_release_by_staff, proposal_refund_by_staff])
def test_support_staff_cannot_settle_an_undisputed_deal(service, ledger_clean):
    team = make_team(members=1, deposit="1500.00")
    proposal = bring_to(team, S.DELIVERED)

    with pytest.raises(Forbidden):
        service(proposal=proposal, actor=staff_user(None, "support"), reason="Not my role.")

    assert money_state(team) == expect(team, **HELD)
    ledger_clean()


def test_finance_staff_cannot_adjust_their_own_wallet(ledger_clean):
    finance = staff_user(None, "finance")
    wallet = wallet_get_or_open(user=finance)

    with pytest.raises(Forbidden, match="take part"):
        wallet_adjust(
            wallet=wallet,
            amount=Money("100.00", "USD"),
            reason="A bonus.",
            actor=finance,
            idempotency_key="self-credit",
        )

    wallet.refresh_from_db()
    assert wallet.available_balance == Money("0.00", "USD")
    ledger_clean()


def test_the_support_role_reads_disputes_but_no_role_reads_nothing(client_for, disputed):
    _, proposal, dispute = disputed

    support = client_for(staff_user(None, "support"))
    assert support.get(f"/api/disputes/{dispute.pk}").status_code == 200
    assert support.get(f"/api/proposals/{proposal.pk}").status_code == 404

    plain = client_for(staff_user(None))
    for path in (f"/api/disputes/{dispute.pk}", f"/api/proposals/{proposal.pk}"):
        assert plain.get(path).status_code == 404, path
