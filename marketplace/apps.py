from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self):
        from .startup import warn_if_email_goes_to_console

        warn_if_email_goes_to_console()
