"""Background work of the core, run by the task worker (`manage.py db_worker`, started by
`make run` beside the server): nothing slow or outside (a mail server) runs inside a
request. Tasks are enqueued in the caller's transaction (the database backend stores them
as rows), so work for a change that rolls back is never done."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task

from .models import Notification

logger = logging.getLogger("marketplace.core.notifications")


@task()
def email_notifications(notification_ids: list[int]) -> None:
    """E-mail each notification to its user, if they still have an address and an active
    account. One failing address is logged and does not stop the others."""
    notifications = Notification.objects.filter(pk__in=notification_ids).select_related("user")
    for notification in notifications.order_by("pk"):
        user = notification.user
        if not (user.is_active and user.email):
            continue
        try:
            send_mail(
                subject=notification.title,
                message=email_text(notification),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        except Exception:
            logger.exception("could not e-mail notification #%s", notification.pk)


def email_text(notification: Notification) -> str:
    if not notification.link:
        return notification.body
    return f"{notification.body}\n\n{settings.SITE_URL.rstrip('/')}{notification.link}"
