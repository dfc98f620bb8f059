"""Notifications: who is told what by each step of the workflow (driven through the real
services), the e-mails that leave only after commit, the API, and the live push."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from djmoney.money import Money

from disputes.services import dispute_open, dispute_resolve
from marketplace.core.errors import DomainError
from marketplace.core.events import user_stream
from marketplace.core.formats import moment_text
from marketplace.core.models import Notification
from marketplace.core.notifications import notifications_mark_read, notify
from marketplace.core.serializers import NotificationOutputSerializer
from proposals import services
from proposals.models import Proposal
from tests.conftest import run_background_tasks
from tests.factories import UserFactory, staff_user
from tests.proposals.factories import bring_to, make_team, propose
from tests.streams import listen

S = Proposal.Status
K = Notification.Kind
TITLE = "Build the shop"


def told(since: int = 0) -> list[tuple[str, str, str]]:
    """(recipient, kind, title) of every notification stored after id `since`, in order."""
    return [
        (n.user.username, n.kind, n.title)
        for n in Notification.objects.filter(pk__gt=since).select_related("user").order_by("pk")
    ]


def last_id() -> int:
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def names(team) -> dict:
    return {name: user.username for name, user in team.people.items()}


@pytest.fixture
def staff(db):
    return staff_user("staff", "support")


# --- who is told what ---------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_a_new_proposal_tells_the_buyer():
    team = make_team()
    proposal = propose(team, "1000.00")
    n = names(team)
    assert told() == [(n["buyer"], K.PROPOSAL_RECEIVED, f"New proposal “{TITLE}” for 1000.00 USD")]
    note = Notification.objects.get()
    assert note.link == f"/conversations/{team.conversation.pk}/"
    assert note.data == {
        "proposal_id": proposal.pk,
        "conversation_id": team.conversation.pk,
        "status": "pending",
    }
    assert note.read_at is None


def test_accepting_tells_the_leader_and_every_member():
    team = make_team(members=2)
    proposal = propose(team)
    since = last_id()
    services.proposal_accept(proposal=proposal, actor=team.buyer)
    n = names(team)
    title = f"“{TITLE}” was accepted"
    assert told(since) == [
        (n["leader"], K.PROPOSAL_ACCEPTED, title),
        (n["m1"], K.PROPOSAL_ACCEPTED, title),
        (n["m2"], K.PROPOSAL_ACCEPTED, title),
    ]
    note = Notification.objects.filter(pk__gt=since).first()
    assert note.body == "1000.00 USD is held in escrow until the buyer confirms the work."
    assert note.data["status"] == "accepted"


def test_rejecting_tells_the_leader_and_withdrawing_tells_the_buyer():
    team = make_team()
    proposal = propose(team)
    since = last_id()
    services.proposal_reject(proposal=proposal, actor=team.buyer)
    n = names(team)
    assert told(since) == [(n["leader"], K.PROPOSAL_REJECTED, f"“{TITLE}” was rejected")]

    proposal = propose(team, title="Second try")
    since = last_id()
    services.proposal_withdraw(proposal=proposal, actor=team.leader)
    assert told(since) == [(n["buyer"], K.PROPOSAL_CANCELLED, "“Second try” was withdrawn")]
    assert Notification.objects.get(pk__gt=since).data["status"] == "withdrawn"


def test_delivery_tells_the_buyer_when_the_escrow_releases_itself():
    team = make_team()
    proposal = bring_to(team, S.IN_PROGRESS)
    since = last_id()
    proposal = services.proposal_deliver(proposal=proposal, actor=team.leader)
    assert told(since) == [(team.buyer.username, K.PROPOSAL_DELIVERED, f"“{TITLE}” was delivered")]
    release_at = proposal.delivered_at + timedelta(days=settings.ESCROW_AUTO_RELEASE_DAYS)
    note = Notification.objects.get(pk__gt=since)
    assert note.body == (
        "Confirm the work to release the escrow, or request changes. Without an answer the "
        f"escrow of 1000.00 USD is released automatically on {moment_text(release_at)} UTC."
    )
    # JSON data carries timestamps to the millisecond (Django's JSON encoder).
    millis = f"{release_at.microsecond // 1000:03d}"
    assert note.data["auto_release_at"] == f"{release_at:%Y-%m-%dT%H:%M:%S}.{millis}Z"


def test_requested_changes_reach_the_leader_with_the_note():
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)
    since = last_id()
    services.proposal_request_changes(proposal=proposal, actor=team.buyer, note="Bigger logo.")
    assert told(since) == [
        (team.leader.username, K.CHANGES_REQUESTED, f"Changes requested on “{TITLE}”")
    ]
    note = Notification.objects.get(pk__gt=since)
    assert note.body == "The buyer asked for changes: Bigger logo."


def test_confirming_pays_each_payee_their_exact_amount_then_announces_completion():
    # 1000.01: fee 100.00, commission 30.00, pool 870.01 among three: 290.01 (the leader,
    # who joined first), 290.00, 290.00.
    team = make_team(members=2)
    proposal = bring_to(team, S.DELIVERED, price="1000.01")
    since = last_id()
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    n = names(team)
    done = f"“{TITLE}” is complete"
    assert told(since) == [
        (n["leader"], K.PAYMENT_RECEIVED, f"You received 320.01 USD for “{TITLE}”"),
        (n["m1"], K.PAYMENT_RECEIVED, f"You received 290.00 USD for “{TITLE}”"),
        (n["m2"], K.PAYMENT_RECEIVED, f"You received 290.00 USD for “{TITLE}”"),
        (n["leader"], K.PROPOSAL_COMPLETED, done),
        (n["m1"], K.PROPOSAL_COMPLETED, done),
        (n["m2"], K.PROPOSAL_COMPLETED, done),
    ]
    payments = Notification.objects.filter(pk__gt=since, kind=K.PAYMENT_RECEIVED).order_by("pk")
    assert [(p.data["amount"], p.data["currency"]) for p in payments] == [
        ("320.01", "USD"),
        ("290.00", "USD"),
        ("290.00", "USD"),
    ]
    assert payments[0].body == (
        "Paid from the escrow (leader commission 30.00 USD, member share 290.01 USD) "
        "into your available balance."
    )
    assert payments[1].body == (
        "Paid from the escrow (member share 290.00 USD) into your available balance."
    )
    assert "status" not in payments[0].data
    completed = Notification.objects.filter(pk__gt=since, kind=K.PROPOSAL_COMPLETED).first()
    assert completed.body == "The buyer confirmed the work: the escrow of 1000.01 USD was paid out."


def test_auto_release_pays_and_completes_like_a_confirmation():
    team = make_team(members=1)
    proposal = bring_to(team, S.DELIVERED, price="100.00")
    since = last_id()
    due = Proposal.objects.get(pk=proposal.pk).delivered_at + timedelta(days=14)
    services.proposal_auto_release(proposal=proposal, now=due)
    # 100.00: fee 10.00, commission 3.00, pool 87.00 -> 43.50 each.
    n = names(team)
    assert told(since) == [
        (n["leader"], K.PAYMENT_RECEIVED, f"You received 46.50 USD for “{TITLE}”"),
        (n["m1"], K.PAYMENT_RECEIVED, f"You received 43.50 USD for “{TITLE}”"),
        (n["leader"], K.PROPOSAL_COMPLETED, f"“{TITLE}” is complete"),
        (n["m1"], K.PROPOSAL_COMPLETED, f"“{TITLE}” is complete"),
    ]
    completed = Notification.objects.filter(pk__gt=since, kind=K.PROPOSAL_COMPLETED).first()
    assert completed.body.startswith("The buyer did not answer in time")


def test_a_member_who_left_is_neither_paid_nor_told():
    from marketplace.core.services import group_leave

    team = make_team(members=2)
    proposal = bring_to(team, S.DELIVERED, price="1000.00")
    group_leave(group=team.group, user=team.members[1])
    since = last_id()
    services.proposal_confirm(proposal=proposal, actor=team.buyer)
    # Pool 870.00 between the leader and m1: 435.00 each.
    n = names(team)
    assert told(since) == [
        (n["leader"], K.PAYMENT_RECEIVED, f"You received 465.00 USD for “{TITLE}”"),
        (n["m1"], K.PAYMENT_RECEIVED, f"You received 435.00 USD for “{TITLE}”"),
        (n["leader"], K.PROPOSAL_COMPLETED, f"“{TITLE}” is complete"),
        (n["m1"], K.PROPOSAL_COMPLETED, f"“{TITLE}” is complete"),
    ]


def test_cancelling_refunds_and_tells_the_buyer():
    team = make_team()
    proposal = bring_to(team, S.IN_PROGRESS)
    since = last_id()
    services.proposal_cancel(proposal=proposal, actor=team.leader)
    n = names(team)
    assert told(since) == [
        (n["buyer"], K.REFUND_RECEIVED, f"You were refunded 1000.00 USD for “{TITLE}”"),
        (n["buyer"], K.PROPOSAL_CANCELLED, f"“{TITLE}” was cancelled"),
    ]
    refund = Notification.objects.get(pk__gt=since, kind=K.REFUND_RECEIVED)
    assert (refund.data["amount"], refund.data["currency"]) == ("1000.00", "USD")


def test_assigning_a_task_tells_the_assignee_only():
    team = make_team(members=2)
    proposal = bring_to(team, S.ACCEPTED)
    m1, m2 = team.members
    since = last_id()
    task = services.task_create(
        proposal=proposal, actor=team.leader, title="Design", assigned_to=m1
    )
    services.task_create(proposal=proposal, actor=team.leader, title="Unassigned")
    services.task_create(
        proposal=proposal, actor=team.leader, title="Mine", assigned_to=team.leader
    )
    assert told(since) == [(m1.username, K.TASK_ASSIGNED, "New task: “Design”")]
    note = Notification.objects.get(pk__gt=since)
    assert note.body == f"{team.leader.username} assigned you a task on “{TITLE}”."
    assert note.data["task_id"] == task.pk

    since = last_id()
    task = services.task_update(task=task, actor=m1, status="in_progress")
    services.task_update(task=task, actor=team.leader, assigned_to=m1)  # unchanged
    services.task_update(task=task, actor=team.leader, assigned_to=m2)
    services.task_update(task=task, actor=team.leader, assigned_to=None)
    assert told(since) == [(m2.username, K.TASK_ASSIGNED, "New task: “Design”")]


@pytest.mark.parametrize("opener", ["buyer", "leader"])
def test_opening_a_dispute_tells_the_other_party(opener):
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)
    since = last_id()
    dispute = dispute_open(proposal=proposal, actor=team.people[opener], reason="Broken.")
    other = "leader" if opener == "buyer" else "buyer"
    assert told(since) == [
        (team.people[other].username, K.DISPUTE_OPENED, f"A dispute was opened on “{TITLE}”")
    ]
    note = Notification.objects.get(pk__gt=since)
    side = "The buyer" if opener == "buyer" else "The group's leader"
    assert note.body == (
        f"{side} opened a dispute: Broken.\n"
        "The escrow of 1000.00 USD is frozen until staff resolve it."
    )
    assert note.link == f"/disputes/{dispute.pk}/"
    assert note.data["dispute_id"] == dispute.pk


def test_a_refund_resolution_refunds_the_buyer_and_tells_both_parties(staff):
    team = make_team()
    proposal = bring_to(team, S.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Broken.")
    since = last_id()
    dispute_resolve(dispute=dispute, actor=staff, outcome="refund", note="Never delivered.")
    n = names(team)
    resolved = f"The dispute on “{TITLE}” was resolved"
    assert told(since) == [
        (n["buyer"], K.REFUND_RECEIVED, f"You were refunded 1000.00 USD for “{TITLE}”"),
        (n["buyer"], K.DISPUTE_RESOLVED, resolved),
        (n["leader"], K.DISPUTE_RESOLVED, resolved),
    ]
    note = Notification.objects.filter(pk__gt=since, kind=K.DISPUTE_RESOLVED).first()
    assert note.body == "1000.00 USD was refunded to the buyer.\nStaff note: Never delivered."
    assert (note.data["outcome"], note.data["refund_amount"]) == ("refund", "1000.00")


def test_a_release_resolution_pays_completes_and_tells_both_parties(staff):
    team = make_team(members=2)
    proposal = bring_to(team, S.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.leader, reason="Silent buyer.")
    since = last_id()
    dispute_resolve(dispute=dispute, actor=staff, outcome="release")
    n = names(team)
    done, resolved = f"“{TITLE}” is complete", f"The dispute on “{TITLE}” was resolved"
    assert told(since) == [
        (n["leader"], K.PAYMENT_RECEIVED, f"You received 320.00 USD for “{TITLE}”"),
        (n["m1"], K.PAYMENT_RECEIVED, f"You received 290.00 USD for “{TITLE}”"),
        (n["m2"], K.PAYMENT_RECEIVED, f"You received 290.00 USD for “{TITLE}”"),
        (n["leader"], K.PROPOSAL_COMPLETED, done),
        (n["m1"], K.PROPOSAL_COMPLETED, done),
        (n["m2"], K.PROPOSAL_COMPLETED, done),
        (n["buyer"], K.DISPUTE_RESOLVED, resolved),
        (n["leader"], K.DISPUTE_RESOLVED, resolved),
    ]
    note = Notification.objects.filter(pk__gt=since, kind=K.DISPUTE_RESOLVED).first()
    assert note.body == "The escrow of 1000.00 USD was released to the group."
    assert "refund_amount" not in note.data


def test_a_split_refunds_part_and_pays_the_rest_to_the_cent(staff):
    # Refund 400.00; release 600.00: fee 60.00, commission 18.00, pool 522.00 -> 174.00 each.
    team = make_team(members=2)
    proposal = bring_to(team, S.DELIVERED)
    dispute = dispute_open(proposal=proposal, actor=team.buyer, reason="Half done.")
    since = last_id()
    dispute_resolve(
        dispute=dispute, actor=staff, outcome="split", refund_amount=Money("400.00", "USD")
    )
    n = names(team)
    resolved = f"The dispute on “{TITLE}” was resolved"
    assert told(since) == [
        (n["buyer"], K.REFUND_RECEIVED, f"You were refunded 400.00 USD for “{TITLE}”"),
        (n["leader"], K.PAYMENT_RECEIVED, f"You received 192.00 USD for “{TITLE}”"),
        (n["m1"], K.PAYMENT_RECEIVED, f"You received 174.00 USD for “{TITLE}”"),
        (n["m2"], K.PAYMENT_RECEIVED, f"You received 174.00 USD for “{TITLE}”"),
        (n["buyer"], K.DISPUTE_RESOLVED, resolved),
        (n["leader"], K.DISPUTE_RESOLVED, resolved),
    ]
    note = Notification.objects.filter(pk__gt=since, kind=K.DISPUTE_RESOLVED).first()
    assert note.body == "400.00 USD was refunded to the buyer and 600.00 USD released to the group."


def test_starting_notifies_no_one():
    team = make_team()
    proposal = bring_to(team, S.ACCEPTED)
    since = last_id()
    services.proposal_start(proposal=proposal, actor=team.leader)
    assert told(since) == []


# --- refusals and rollbacks store and send nothing ----------------------------------


def test_a_refused_accept_stores_and_sends_nothing(django_capture_on_commit_callbacks, mailoutbox):
    team = make_team(deposit="999.99")
    proposal = propose(team, "1000.00")
    since = last_id()
    run_background_tasks()  # the proposal's own e-mail
    mailoutbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(DomainError) as refused,
    ):
        services.proposal_accept(proposal=proposal, actor=team.buyer)
    assert refused.value.code == "insufficient_funds"
    assert told(since) == []
    assert callbacks == []
    run_background_tasks()
    assert mailoutbox == []


def test_a_rolled_back_change_stores_and_sends_nothing(
    django_capture_on_commit_callbacks, mailoutbox
):
    team = make_team()
    proposal = propose(team)
    since = last_id()
    run_background_tasks()  # the proposal's own e-mail
    mailoutbox.clear()
    listening = listen(*(user_stream(user.pk) for user in team.people.values()))
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.proposal_accept(proposal=proposal, actor=team.buyer)
        assert len(told(since)) == 3  # stored inside the transaction...
        raise RuntimeError("the caller's transaction fails after the service")
    assert told(since) == []  # ...and gone with it
    assert listening() == []
    run_background_tasks()
    assert mailoutbox == []


# --- e-mail -------------------------------------------------------------------------


def test_emails_are_sent_by_the_worker_never_in_the_request(
    django_capture_on_commit_callbacks, mailoutbox
):
    team = make_team(members=1)
    proposal = bring_to(team, S.DELIVERED)
    run_background_tasks()  # the e-mails of getting there
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_confirm(proposal=proposal, actor=team.buyer)
    assert len(told()) > 0 and mailoutbox == []  # stored and committed, not yet sent
    run_background_tasks()
    leader, m1 = team.leader, team.members[0]
    assert [(mail.to, mail.subject) for mail in mailoutbox] == [
        ([leader.email], f"You received 465.00 USD for “{TITLE}”"),
        ([m1.email], f"You received 435.00 USD for “{TITLE}”"),
        ([leader.email], f"“{TITLE}” is complete"),
        ([m1.email], f"“{TITLE}” is complete"),
    ]
    first = mailoutbox[0]
    assert first.from_email == settings.DEFAULT_FROM_EMAIL
    assert first.body == (
        "Paid from the escrow (leader commission 30.00 USD, member share 435.00 USD) into "
        f"your available balance.\n\n{settings.SITE_URL}"
        f"/conversations/{team.conversation.pk}/"
    )


def test_users_without_an_email_address_are_notified_in_the_app_only(
    django_capture_on_commit_callbacks, mailoutbox
):
    team = make_team()
    team.buyer.email = ""
    team.buyer.save()
    with django_capture_on_commit_callbacks(execute=True):
        propose(team)
    assert told() == [
        (team.buyer.username, K.PROPOSAL_RECEIVED, f"New proposal “{TITLE}” for 1000.00 USD")
    ]
    run_background_tasks()
    assert mailoutbox == []


def test_a_failing_mail_server_is_logged_never_raised(
    django_capture_on_commit_callbacks, settings, caplog
):
    # A real SMTP connection to a port where nothing listens.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 2},
        }
    }
    team = make_team()
    with django_capture_on_commit_callbacks(execute=True):
        proposal = propose(team)
    run_background_tasks()
    assert Notification.objects.get().data["proposal_id"] == proposal.pk
    assert [
        r.getMessage() for r in caplog.records if r.name == "marketplace.core.notifications"
    ] == [f"could not e-mail notification #{Notification.objects.get().pk}"]


# --- the service and selectors ------------------------------------------------------


def test_mark_read_marks_only_the_owners_unread_notifications():
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    a1, a2, a3 = (
        notify(user=alice, kind=K.TASK_ASSIGNED, title=f"a{i}", body="") for i in (1, 2, 3)
    )
    b1 = notify(user=bob, kind=K.TASK_ASSIGNED, title="b1", body="")
    assert notifications_mark_read(user=alice, ids=[a1.pk, b1.pk]) == 1
    assert notifications_mark_read(user=alice, ids=[a1.pk]) == 0  # already read
    first_read_at = Notification.objects.get(pk=a1.pk).read_at
    assert notifications_mark_read(user=alice) == 2
    assert Notification.objects.get(pk=a1.pk).read_at == first_read_at
    assert Notification.objects.get(pk=b1.pk).read_at is None
    assert {a2.pk, a3.pk} == set(
        Notification.objects.filter(user=alice, read_at__isnull=False)
        .exclude(pk=a1.pk)
        .values_list("pk", flat=True)
    )


def test_notify_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        notify(user=UserFactory(), kind="party_invitation", title="x", body="")
    assert not Notification.objects.exists()


# --- the API ------------------------------------------------------------------------


def _seed(user, count: int) -> list[Notification]:
    return [
        notify(
            user=user,
            kind=K.PAYMENT_RECEIVED,
            title=f"Payment {i}",
            body="Paid.",
            link="/conversations/1/",
            data={"proposal_id": i},
        )
        for i in range(count)
    ]


def test_the_list_is_the_callers_newest_first_with_read_state(client_for):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    older, newer = _seed(alice, 2)
    _seed(bob, 3)
    notifications_mark_read(user=alice, ids=[older.pk])
    older.refresh_from_db()

    response = client_for(alice).get("/api/notifications")
    assert response.status_code == 200
    assert response["X-Unread-Count"] == "1"
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert body["results"] == [
        {
            "id": newer.pk,
            "kind": "payment_received",
            "title": "Payment 1",
            "body": "Paid.",
            "link": "/conversations/1/",
            "data": {"proposal_id": 1},
            "read": False,
            "read_at": None,
            "created_at": newer.created_at.isoformat().replace("+00:00", "Z"),
        },
        {
            "id": older.pk,
            "kind": "payment_received",
            "title": "Payment 0",
            "body": "Paid.",
            "link": "/conversations/1/",
            "data": {"proposal_id": 0},
            "read": True,
            "read_at": older.read_at.isoformat().replace("+00:00", "Z"),
            "created_at": older.created_at.isoformat().replace("+00:00", "Z"),
        },
    ]


def test_the_unread_filter_and_the_unread_count(client_for):
    alice = UserFactory(username="alice")
    first, second, third = _seed(alice, 3)
    notifications_mark_read(user=alice, ids=[second.pk])
    api = client_for(alice)
    unread = api.get("/api/notifications?unread=true")
    assert [item["id"] for item in unread.json()["results"]] == [third.pk, first.pk]
    assert unread["X-Unread-Count"] == "2"
    every = api.get("/api/notifications/?unread=false")
    assert [item["id"] for item in every.json()["results"]] == [third.pk, second.pk, first.pk]
    assert api.get("/api/notifications/unread-count").json() == {"unread": 2}
    bad = api.get("/api/notifications?unread=perhaps")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    assert "unread" in bad.json()["error"]["fields"]


def test_mark_read_by_ids_ignores_other_users_notifications(client_for):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    a1, a2, a3 = _seed(alice, 3)
    (b1,) = _seed(bob, 1)
    api = client_for(alice)
    response = api.post("/api/notifications/read", {"ids": [a1.pk, a3.pk, b1.pk]}, format="json")
    assert (response.status_code, response.json()) == (200, {"unread": 1})
    assert Notification.objects.get(pk=b1.pk).read_at is None
    assert client_for(bob).get("/api/notifications/unread-count").json() == {"unread": 1}
    listed = api.get("/api/notifications").json()["results"]
    assert [(item["id"], item["read"]) for item in listed] == [
        (a3.pk, True),
        (a2.pk, False),
        (a1.pk, True),
    ]
    # Never visible: bob's notification is not in alice's list.
    assert b1.pk not in [item["id"] for item in listed]


def test_mark_read_without_ids_marks_everything(client_for):
    alice = UserFactory(username="alice")
    _seed(alice, 4)
    api = client_for(alice)
    response = api.post("/api/notifications/read/", {}, format="json")
    assert (response.status_code, response.json()) == (200, {"unread": 0})
    assert api.get("/api/notifications").json()["count"] == 4
    assert api.get("/api/notifications?unread=true").json()["count"] == 0


def test_mark_read_refuses_bad_ids(client_for):
    alice = UserFactory(username="alice")
    _seed(alice, 1)
    response = client_for(alice).post("/api/notifications/read", {"ids": ["x"]}, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()["error"]["fields"]
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_anonymous_callers_get_401(anon):
    assert anon.get("/api/notifications").status_code == 401
    assert anon.get("/api/notifications/unread-count").status_code == 401
    response = anon.post("/api/notifications/read", {}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_the_list_takes_the_same_queries_for_2_or_10_rows(client_for):
    few, many = UserFactory(username="few"), UserFactory(username="many")
    _seed(few, 2)
    _seed(many, 10)
    counts = []
    for user in (few, many):
        api = client_for(user)
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/api/notifications")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 4  # token, count, page, unread count


def test_the_schema_describes_the_notification_endpoints(client_for):
    response = client_for(UserFactory()).get(
        "/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert response.status_code == 200
    paths = response.json()["paths"]
    listing = paths["/api/notifications"]["get"]
    assert listing["operationId"] == "notifications_list"
    assert "X-Unread-Count" in listing["responses"]["200"]["headers"]
    assert {p["name"] for p in listing["parameters"]} >= {"unread", "page"}
    assert paths["/api/notifications/read"]["post"]["operationId"] == "notifications_mark_read"
    assert "/api/notifications/unread-count" in paths
    item = response.json()["components"]["schemas"]["NotificationOutput"]
    assert set(item["properties"]) == {
        "id",
        "kind",
        "title",
        "body",
        "link",
        "data",
        "read",
        "read_at",
        "created_at",
    }
    assert item["properties"]["read"]["type"] == "boolean"


# --- the live push ------------------------------------------------------------------


def _frame_of(notification_id: int) -> dict:
    return {
        "type": "notification.created",
        "notification": dict(
            NotificationOutputSerializer(Notification.objects.get(pk=notification_id)).data
        ),
    }


@pytest.mark.django_db(transaction=True)
def test_notifications_and_wallet_changes_are_pushed_live_after_commit():
    from asgiref.sync import async_to_sync
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from marketplace.asgi import application
    from tests.conftest import issue_token

    team = make_team(members=1, deposit="1500.00")
    proposal = propose(team, "1000.00")
    headers = {
        name: [(b"authorization", f"Token {issue_token(user)}".encode())]
        for name, user in team.people.items()
    }

    async def connect(name):
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers[name])
        connected, _ = await socket.connect(timeout=5)
        assert connected
        return socket

    async def frames(socket) -> list[dict]:
        received = []
        while not await socket.receive_nothing(timeout=0.5):
            received.append(await socket.receive_json_from(timeout=5))
        return received

    async def scenario():
        buyer, leader, member = [await connect(name) for name in ("buyer", "leader", "m1")]
        since = await database_sync_to_async(last_id)()
        await database_sync_to_async(services.proposal_accept)(proposal=proposal, actor=team.buyer)
        leader_note, member_note = await database_sync_to_async(
            lambda: list(Notification.objects.filter(pk__gt=since).order_by("pk"))
        )()
        assert await frames(leader) == [await database_sync_to_async(_frame_of)(leader_note.pk)]
        assert await frames(member) == [await database_sync_to_async(_frame_of)(member_note.pk)]
        assert (await frames(buyer)) == [
            {
                "type": "wallet.updated",
                "wallet": {
                    "currency": "USD",
                    "balance": "1500.00",
                    "available_balance": "500.00",
                    "escrow_balance": "1000.00",
                },
            }
        ]

        # A refused call pushes nothing.
        with pytest.raises(DomainError):
            await database_sync_to_async(services.proposal_accept)(
                proposal=proposal, actor=team.buyer
            )
        assert await frames(buyer) == [] and await frames(leader) == []

        # The leader cancels: the buyer gets the wallet with the escrow back in the
        # available balance as the refund is posted (escrow announces every wallet it
        # changes), then hears of the refund and of the cancellation.
        await database_sync_to_async(services.proposal_cancel)(proposal=proposal, actor=team.leader)
        pushed = await frames(buyer)
        assert [frame["type"] for frame in pushed] == [
            "wallet.updated",
            "notification.created",
            "notification.created",
        ]
        assert [pushed[1]["notification"]["kind"], pushed[2]["notification"]["kind"]] == [
            "refund_received",
            "proposal_cancelled",
        ]
        assert pushed[1]["notification"]["title"] == f"You were refunded 1000.00 USD for “{TITLE}”"
        assert pushed[0]["wallet"] == {
            "currency": "USD",
            "balance": "1500.00",
            "available_balance": "1500.00",
            "escrow_balance": "0.00",
        }
        assert await frames(leader) == []
        for socket in (buyer, leader, member):
            await socket.disconnect()

    async_to_sync(scenario)()
