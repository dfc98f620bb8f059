from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    """The core domain, the ground floor every app stands on: users, groups and their
    members, conversations and messages, notifications, the rules every app shares
    (errors, staff roles, pages, idempotency). Its label stays "marketplace": the
    tables, the migrations and `AUTH_USER_MODEL` ("marketplace.User") keep their names."""

    name = "marketplace.core"
    label = "marketplace"
    verbose_name = "Marketplace"

    def ready(self):
        from .api_tokens import connect_password_change_revocation
        from .startup import warn_if_email_goes_to_console
        from .token_sockets import connect_token_revocation

        warn_if_email_goes_to_console()
        connect_token_revocation()
        connect_password_change_revocation()
