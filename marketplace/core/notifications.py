"""In-app notifications: stored per user, e-mailed, and pushed live.

`notify` writes the row in the caller's transaction; the e-mail and the websocket frame
go out only once that transaction commits, so a change that rolls back stores, sends and
pushes nothing. Who is told what about the proposal workflow is decided in one place,
`proposals.notifications`; this module only knows how to deliver.

Frames on the user's stream (`/ws/notifications/`):
`{"type": "notification.created", "notification": {...}}`, the notification in the shape
of `GET /api/notifications`.
"""

import json
import logging
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from .events import publish_to_user
from .models import Notification
from .serializers import NotificationOutputSerializer

logger = logging.getLogger("marketplace.core.notifications")

# What a notification is about; other apps name their kinds through this.
Kind = Notification.Kind


def notification_frame(notification: Notification) -> dict:
    return {
        "type": "notification.created",
        "notification": dict(NotificationOutputSerializer(notification).data),
    }


def notify(*, user, kind: str, title: str, body: str, link: str = "", data=None) -> Notification:
    """Store a notification for `user` in the current transaction; once it commits, e-mail
    it (users with an e-mail address only) and push it to the user's live stream."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown notification kind {kind!r}.")
    # Stored, pushed and listed in the same plain-JSON shape.
    data = json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder))
    title = title[: Notification._meta.get_field("title").max_length]
    notification = Notification.objects.create(
        user=user, kind=kind, title=title, body=body, link=link, data=data
    )
    if user.email and user.is_active:
        transaction.on_commit(
            partial(_send_email, notification.pk, user.email, title, _email_text(body, link))
        )
    publish_to_user(user.pk, notification_frame(notification))
    return notification


def _email_text(body: str, link: str) -> str:
    if not link:
        return body
    return f"{body}\n\n{settings.SITE_URL.rstrip('/')}{link}"


def _send_email(notification_id: int, address: str, subject: str, text: str) -> None:
    # After commit: the notification is stored whatever happens to the mail server.
    try:
        send_mail(
            subject=subject,
            message=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
    except Exception:
        logger.exception("could not e-mail notification #%s", notification_id)


def notifications_mark_read(*, user, ids=None) -> int:
    """Mark the user's unread notifications read: those with the given ids, or all of them
    when `ids` is None. Ids of other users' notifications are ignored. Returns how many
    changed."""
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
