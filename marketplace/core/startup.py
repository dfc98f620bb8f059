"""Notices a process says once, when it starts (`MarketplaceConfig.ready()`)."""

import logging

from django.conf import settings

logger = logging.getLogger("marketplace.core.startup")

CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
CONSOLE_EMAIL_WARNING = "EMAIL_HOST is not set: notification e-mails are written to the console"


def warn_if_email_goes_to_console() -> None:
    """With DEBUG off and no EMAIL_HOST, notification e-mails go to stdout instead of a
    mail server (settings, "E-mail"): a warning when the process starts, not silence."""
    if settings.DEBUG:
        return
    mailer = getattr(settings, "MAILERS", {}).get("default", {})
    if mailer.get("BACKEND") == CONSOLE_EMAIL_BACKEND:
        logger.warning(CONSOLE_EMAIL_WARNING)
