"""In-app notifications: stored per user, e-mailed, and pushed live.

`notify` writes the row in the caller's transaction, with the task that e-mails it (run
by the worker, `marketplace.core.tasks`); the websocket frame goes out once the
transaction commits. A change that rolls back stores, sends and pushes nothing. Who is
told what about the proposal workflow is decided in one place, `proposals.notifications`;
this module only knows how to deliver.

Frames on the user's stream (`/ws/notifications/`):
`{"type": "notification.created", "notification": {...}}`, the notification in the shape
of `GET /api/notifications`.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from .events import publish_to_user
from .models import Notification
from .serializers import NotificationOutputSerializer
from .tasks import email_notifications

# What a notification is about; other apps name their kinds through this.
Kind = Notification.Kind


def notification_frame(notification: Notification) -> dict:
    return {
        "type": "notification.created",
        "notification": dict(NotificationOutputSerializer(notification).data),
    }


@dataclass(frozen=True)
class Note:
    """One notification to write: for `user`, about `kind`."""

    user: object
    kind: str
    title: str
    body: str
    link: str = ""
    data: dict | None = None


def notify(*, user, kind: str, title: str, body: str, link: str = "", data=None) -> Notification:
    """Store a notification for `user` in the current transaction, queue its e-mail (users
    with an e-mail address only) and push it to the user's live stream after commit."""
    return notify_all([Note(user, kind, title, body, link, data)])[0]


def notify_all(notes: Iterable[Note]) -> list[Notification]:
    """`notify` for several notes in one INSERT."""
    notifications = [_notification(note) for note in notes]
    Notification.objects.bulk_create(notifications)
    emailed = [n.pk for n in notifications if n.user.email and n.user.is_active]
    if emailed:
        # A row in the caller's transaction: a change that rolls back e-mails nobody.
        email_notifications.enqueue(emailed)
    for notification in notifications:
        publish_to_user(notification.user.pk, notification_frame(notification))
    return notifications


def _notification(note: Note) -> Notification:
    if note.kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {note.kind!r}.")
    return Notification(
        user=note.user,
        kind=note.kind,
        title=note.title[: Notification._meta.get_field("title").max_length],
        body=note.body,
        link=note.link,
        # Stored, pushed and listed in the same plain-JSON shape.
        data=json.loads(json.dumps(note.data or {}, cls=DjangoJSONEncoder)),
    )


def notifications_mark_read(*, user, ids=None) -> int:
    """Mark the user's unread notifications read: those with the given ids, or all of them
    when `ids` is None. Ids of other users' notifications are ignored. Returns how many
    changed."""
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
