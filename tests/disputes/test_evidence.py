"""The evidence a dispute brings of its own, where people use it: the dispute desk starts
at the suggested split (one click applies it, with the reason recorded; staff may change
it) and the dispute page shows the frozen snapshot as a timeline."""

from datetime import date

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client

from disputes.models import Dispute
from disputes.services import dispute_open
from marketplace.core.models import Message
from proposals.models import Proposal, Task
from tests.factories import staff_user
from tests.proposals.factories import bring_to, expect, make_team, money_state

pytestmark = pytest.mark.django_db
S = Proposal.Status
T = Task.Status
NOTE = (
    "Suggested by the unfinished work frozen at opening: {} USD of 1000.00 USD back to the buyer."
)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def disputed_with_tasks(team, *specs):
    """A delivered 1000.00 proposal with tasks of (status, points), disputed by the buyer."""
    proposal = bring_to(team, S.DELIVERED)
    for number, (status, points) in enumerate(specs, start=1):
        Task.objects.create(
            proposal=proposal,
            title=f"Page {number}",
            status=status,
            points=points,
            assigned_to=team.members[0],
        )
    return dispute_open(proposal=proposal, actor=team.buyer, reason="Half of it is missing.")


def resolve_url(dispute) -> str:
    return f"/admin/disputes/dispute/{dispute.pk}/resolve/"


def form_values(page) -> dict:
    """The resolve form's starting values, as the browser would submit them untouched."""
    form = page.context["form"]
    return {name: form[name].value() for name in ("outcome", "refund_amount", "note")}


# --- the dispute desk --------------------------------------------------------------------


def test_the_desk_starts_at_the_suggested_split_and_one_click_applies_it(ledger_clean):
    team = make_team(members=2)
    dispute = disputed_with_tasks(team, (T.DONE, 3), (T.TODO, 1))
    support = staff_user("sam", "support")
    client = signed_in(support)

    page = client.get(resolve_url(dispute))

    assert page.status_code == 200
    assert form_values(page) == {
        "outcome": "split",
        "refund_amount": dispute.suggested_refund_amount.amount,
        "note": NOTE.format("250.00"),
    }
    html = page.content.decode()
    assert "Suggested: <strong>split</strong>, 250.00 USD back to the buyer" in html
    assert "<td>Page 1</td><td>done</td>" in html

    done = client.post(resolve_url(dispute), form_values(page))

    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.status, dispute.outcome) == ("resolved", "split")
    assert dispute.refund_amount.amount == dispute.suggested_refund_amount.amount
    assert f"{dispute.refund_amount.amount:.2f}" == "250.00"
    assert dispute.resolution_note == NOTE.format("250.00")
    assert LogEntry.objects.get(object_id=str(dispute.pk)).change_message == (
        f"Resolved (split): {NOTE.format('250.00')}"
    )
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
    ledger_clean()


def test_staff_can_still_change_the_suggested_split(ledger_clean):
    team = make_team(members=2)
    dispute = disputed_with_tasks(team, (T.DONE, 3), (T.TODO, 1))
    client = signed_in(staff_user("sam", "support"))

    done = client.post(
        resolve_url(dispute),
        {"outcome": "split", "refund_amount": "400.00", "note": "Page 2 was half there."},
    )

    assert done.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.refund_amount.amount, dispute.suggested_refund_amount.amount) == (400, 250)
    assert dispute.resolution_note == "Page 2 was half there."
    assert money_state(team)["buyer"] == ("900.00", "0.00")
    ledger_clean()


@pytest.mark.parametrize(
    ("tasks", "outcome", "amount"),
    [([(T.TODO, 2)], "refund", "1000.00"), ([(T.DONE, 2)], "release", "0.00")],
)
def test_nothing_done_suggests_a_refund_and_everything_done_a_release(tasks, outcome, amount):
    team = make_team(members=1)
    dispute = disputed_with_tasks(team, *tasks)

    page = signed_in(staff_user("sam", "support")).get(resolve_url(dispute))

    assert form_values(page) == {
        "outcome": outcome,
        "refund_amount": None,
        "note": NOTE.format(amount),
    }


def test_without_tasks_the_desk_starts_empty():
    team = make_team(members=1)
    dispute = disputed_with_tasks(team)

    page = signed_in(staff_user("sam", "support")).get(resolve_url(dispute))

    assert form_values(page) == {"outcome": None, "refund_amount": None, "note": None}
    assert "No suggestion: the proposal had no tasks." in page.content.decode()


def test_the_dispute_change_page_shows_the_suggestion_and_the_snapshot_read_only():
    team = make_team(members=1)
    dispute = disputed_with_tasks(team, (T.DONE, 1), (T.TODO, 1))

    page = signed_in(staff_user("sam", "support")).get(
        f"/admin/disputes/dispute/{dispute.pk}/change/"
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert "Suggested refund amount" in html and "500.00" in html
    assert "snapshot frozen at opening" in html.lower()
    assert '"title": "Page 2", "points": 1, "status": "todo"' in html.replace("&quot;", '"')


# --- the dispute page --------------------------------------------------------------------


def test_the_dispute_page_shows_the_snapshot_as_a_timeline():
    team = make_team(members=2)
    proposal = bring_to(team, S.DELIVERED)
    Task.objects.create(proposal=proposal, title="Checkout", status=T.DONE, points=2)
    Task.objects.create(proposal=proposal, title="Search", status=T.TODO, points=2)
    Message.objects.create(
        conversation=team.conversation, sender=team.buyer, body="Where is search?"
    )
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Search missing.")

    page = signed_in(team.members[1]).get(f"/disputes/{dispute.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert '<dd data-field="suggested-refund">500.00 USD</dd>' in html
    assert '<dd data-field="snapshot-pool-split">Equal shares</dd>' in html
    assert '<li data-task-status="todo"><strong>Search</strong>' in html
    timeline = html[html.index("snapshot-timeline") :]
    delivered, question = (
        timeline.index("<strong>Delivered</strong>"),
        timeline.index("Where is search?"),
    )
    assert delivered < question  # oldest first: delivered, then the buyer's question
    assert Dispute.objects.get().evidence_items.filter(kind="auto").count() == 1 + 2 + 1 + len(
        Message.objects.filter(conversation=team.conversation, id__lt=_disputed_message_id(team))
    )


def a_dated_task_points_dispute(team):
    """A task-points proposal due on 15 Dec 2026, disputed: its snapshot keeps the due date
    as an ISO string and the pool rule as a code."""
    proposal = bring_to(team, S.DELIVERED)
    Proposal.objects.filter(pk=proposal.pk).update(
        due_date=date(2026, 12, 15), pool_split=Proposal.PoolSplit.TASK_POINTS
    )
    return dispute_open(proposal=proposal, actor=team.buyer, reason="Late.")


def test_the_snapshot_writes_its_terms_in_words():
    team = make_team(members=1)
    dispute = a_dated_task_points_dispute(team)
    assert dispute.evidence_items.get(topic="terms").data["due_date"] == "2026-12-15"

    html = signed_in(team.buyer).get(f"/disputes/{dispute.pk}/").content.decode()

    assert "<div><dt>Due</dt><dd>15 Dec 2026</dd></div>" in html
    assert "2026-12-15" not in html
    # The pool rule by the model's own label, as the desk writes it; rates as percents.
    assert '<dd data-field="snapshot-pool-split">By finished task points</dd>' in html
    assert "Platform fee 10%, leader commission 3%." in html
    assert "0.1000" not in html and "0.0300" not in html


def test_the_desk_writes_the_frozen_terms_in_words():
    team = make_team(members=1)
    dispute = a_dated_task_points_dispute(team)

    html = signed_in(staff_user("sam", "support")).get(resolve_url(dispute)).content.decode()

    assert "Terms: due 15 Dec 2026, member pool: by finished task points;" in html
    assert "task_points" not in html and "2026-12-15" not in html


def _disputed_message_id(team) -> int:
    return (
        Message.objects.filter(conversation=team.conversation, metadata__status="disputed")
        .values_list("id", flat=True)
        .get()
    )


# --- the demo ----------------------------------------------------------------------------


def test_the_demo_dispute_brings_its_snapshot_and_suggestion():
    call_command("seed_demo", verbosity=0)

    dispute = Dispute.objects.get(status=Dispute.Status.OPEN)
    # 700.00 with 1 of 6 points unfinished: 116.666… half-up to 116.67.
    assert f"{dispute.suggested_refund_amount.amount:.2f}" == "116.67"
    tasks = [item.data for item in dispute.evidence_items.filter(topic="task")]
    assert [(task["points"], task["status"]) for task in tasks] == [
        (3, "done"),
        (2, "done"),
        (1, "in_progress"),
    ]
    assert dispute.evidence_items.filter(topic="delivery").count() == 1
    assert "Our weekly KPI report takes an afternoon by hand. Can you automate it?" in [
        item.data["body"] for item in dispute.evidence_items.filter(topic="message")
    ]
