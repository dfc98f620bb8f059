"""The automatic release job: due proposals released exactly once even with two workers
racing, none while disputed, reminders once each, and the buyer's one extension."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from disputes.services import dispute_open
from escrow.models import EscrowTransaction
from marketplace.core.errors import InvalidInput
from marketplace.core.models import Notification
from proposals.auto_release import auto_release_pass
from proposals.models import Proposal
from proposals.services import proposal_extend_auto_release
from tests.proposals.factories import bring_to, expect, make_team, money_state, race

S = Proposal.Status
DAY = timedelta(days=1)


def _delivered(team, *, days_ago: float, price="1000.00") -> Proposal:
    proposal = bring_to(team, S.DELIVERED, price=price)
    Proposal.objects.filter(pk=proposal.pk).update(
        delivered_at=timezone.now() - timedelta(days=days_ago)
    )
    proposal.refresh_from_db()
    return proposal


RELEASED = {
    "buyer": ("500.00", "0.00"),
    "leader": ("320.00", "0.00"),
    "m1": ("290.00", "0.00"),
    "m2": ("290.00", "0.00"),
    "group": ("0.00", "900.00"),
    "platform": "100.00",
}


@pytest.mark.django_db
def test_a_pass_releases_what_is_due_and_nothing_else(ledger_clean):
    due_team, early_team = make_team(), make_team()
    due = _delivered(due_team, days_ago=14.01)
    early = _delivered(early_team, days_ago=13.9)

    result = auto_release_pass()

    assert result.released == [due.pk]
    assert Proposal.objects.get(pk=due.pk).status == S.COMPLETED
    assert Proposal.objects.get(pk=early.pk).status == S.DELIVERED
    assert money_state(due_team) == expect(due_team, **RELEASED)
    assert "confirmed automatically" in due.conversation.messages.last().body
    assert auto_release_pass().released == []
    ledger_clean()


@pytest.mark.django_db
def test_the_clock_is_moved_with_now_too(ledger_clean):
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)

    assert auto_release_pass(now=timezone.now() + 13 * DAY).released == []
    assert auto_release_pass(now=timezone.now() + 14 * DAY + timedelta(minutes=1)).released == [
        proposal.pk
    ]
    assert money_state(team) == expect(team, **RELEASED)
    ledger_clean()


@pytest.mark.django_db
def test_a_disputed_proposal_is_never_released_nor_reminded(ledger_clean):
    team = make_team()
    proposal = _delivered(team, days_ago=13)
    dispute_open(proposal=proposal, actor=team.buyer, reason="Broken.")

    result = auto_release_pass(now=timezone.now() + 60 * DAY)

    assert result.released == [] and result.reminded == []
    assert Proposal.objects.get(pk=proposal.pk).status == S.DISPUTED
    assert money_state(team) == expect(team, buyer=("500.00", "1000.00"), group=("1000.00", "0.00"))
    assert not Notification.objects.filter(data__reminder_days_before__isnull=False).exists()
    ledger_clean()


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_release_each_proposal_exactly_once():
    from escrow.reconcile import find_problems

    teams = [make_team() for _ in range(4)]
    proposals = [_delivered(team, days_ago=15) for team in teams]

    results = race(auto_release_pass, auto_release_pass)

    assert [status for status, _ in results] == ["ok", "ok"], results
    released = sorted(pk for _, result in results for pk in result.released)
    assert released == sorted(p.pk for p in proposals)
    for proposal in proposals:
        assert Proposal.objects.get(pk=proposal.pk).status == S.COMPLETED
        legs = EscrowTransaction.objects.filter(from_hold=proposal.escrow_hold)
        assert legs.count() == 5  # fee, commission, three member shares
    for team in teams:  # the platform account is shared: 4 fees of 100.00
        assert money_state(team) == expect(team, **{**RELEASED, "platform": "400.00"})
    assert find_problems() == []


@pytest.mark.django_db
def test_reminders_go_out_three_days_and_one_day_before_each_once(ledger_clean):
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)
    due = Proposal.objects.get(pk=proposal.pk).auto_release_at

    def reminders():
        return list(
            Notification.objects.filter(user=team.buyer, data__reminder_days_before__isnull=False)
            .order_by("id")
            .values_list("data__reminder_days_before", flat=True)
        )

    assert auto_release_pass(now=due - 4 * DAY).reminded == []
    assert auto_release_pass(now=due - 3 * DAY + timedelta(hours=1)).reminded == [(proposal.pk, 3)]
    assert auto_release_pass(now=due - 2 * DAY).reminded == []
    assert auto_release_pass(now=due - DAY + timedelta(hours=1)).reminded == [(proposal.pk, 1)]
    assert auto_release_pass(now=due - timedelta(hours=1)).reminded == []
    assert reminders() == [3, 1]
    kinds = Notification.objects.filter(data__reminder_days_before__isnull=False)
    assert set(kinds.values_list("kind", flat=True)) == {"auto_release_reminder"}
    stored = Proposal.objects.get(pk=proposal.pk)
    assert stored.auto_release_reminders_sent == [3, 1]
    assert stored.auto_release_reminded_for == due
    notification = Notification.objects.filter(user=team.buyer).order_by("id").last()
    assert "tomorrow" in notification.title
    ledger_clean()


@pytest.mark.django_db
def test_the_buyer_extends_once_and_the_release_waits(client_for, ledger_clean):
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)
    due = Proposal.objects.get(pk=proposal.pk).auto_release_at
    url = f"/api/proposals/{proposal.pk}/extend-auto-release"

    assert client_for(team.buyer).post(url, {"days": 8}, format="json").status_code == 400
    assert client_for(team.leader).post(url, {"days": 3}, format="json").status_code == 403
    from tests.factories import UserFactory

    assert client_for(UserFactory()).post(url, {"days": 3}, format="json").status_code == 404
    response = client_for(team.buyer).post(url, {"days": 3}, format="json")

    assert response.status_code == 200, response.json()
    extended = due + 3 * DAY
    assert response.json()["auto_release_at"] == extended.isoformat().replace("+00:00", "Z")
    again = client_for(team.buyer).post(url, {"days": 1}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "auto_release_already_extended"

    assert auto_release_pass(now=due + timedelta(hours=1)).released == []
    assert auto_release_pass(now=extended + timedelta(minutes=1)).released == [proposal.pk]
    assert money_state(team) == expect(team, **RELEASED)
    ledger_clean()


@pytest.mark.django_db
def test_extension_service_refusals():
    team = make_team()
    proposal = bring_to(team, S.IN_PROGRESS)
    from proposals.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        proposal_extend_auto_release(proposal=proposal, actor=team.buyer, days=2)

    delivered = bring_to(make_team(), S.DELIVERED)
    for days in (0, 8):
        with pytest.raises(InvalidInput) as error:
            proposal_extend_auto_release(
                proposal=delivered, actor=delivered.conversation.product_owner, days=days
            )
        assert error.value.code == "invalid_days"
    assert Proposal.objects.get(pk=delivered.pk).auto_release_extended_until is None


@pytest.mark.django_db
def test_the_command_runs_one_pass(capsys, ledger_clean):
    team = make_team()
    _delivered(team, days_ago=20)

    call_command("auto_release")

    assert "auto_release: released 1, reminded 0" in capsys.readouterr().out
    assert money_state(team) == expect(team, **RELEASED)
    ledger_clean()
