from django.apps import AppConfig


class EscrowConfig(AppConfig):
    name = "escrow"
    verbose_name = "Escrow ledger"

    def ready(self):
        from marketplace.core import signals

        from . import receivers

        signals.user_registered.connect(receivers.open_user_wallet)
        signals.group_created.connect(receivers.open_group_wallet)
        signals.group_deleting.connect(receivers.refuse_deleting_a_group_with_money)
