"""Staff views of the ledger. Money moves only through `escrow.services`: balances are a
cache of the ledger, and the ledger is append-only, so nothing here edits either."""

from django.contrib import admin

from .models import EscrowHold, EscrowTransaction, GroupWallet, Wallet


class NoEditAdmin(admin.ModelAdmin):
    """View only: no add, no change, no delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(NoEditAdmin):
    list_display = ("id", "kind", "user", "balance", "available_balance", "escrow_balance")
    list_filter = ("kind", "balance_currency")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)


@admin.register(GroupWallet)
class GroupWalletAdmin(NoEditAdmin):
    list_display = (
        "id",
        "group",
        "available_balance",
        "escrow_balance",
        "total_escrow_received",
    )
    list_filter = ("balance_currency",)
    search_fields = ("group__name",)
    list_select_related = ("group",)


@admin.register(EscrowHold)
class EscrowHoldAdmin(NoEditAdmin):
    list_display = ("id", "buyer_wallet", "group_wallet", "amount", "created_at")
    list_filter = ("amount_currency", "created_at")
    search_fields = ("buyer_wallet__user__username", "group_wallet__group__name")
    list_select_related = ("buyer_wallet__user", "group_wallet__group")


@admin.register(EscrowTransaction)
class EscrowTransactionAdmin(NoEditAdmin):
    list_display = ("id", "created_at", "kind", "amount", "source", "destination", "actor")
    list_filter = ("kind", "amount_currency", "created_at")
    search_fields = ("idempotency_key", "memo", "actor__username")
    date_hierarchy = "created_at"
    list_select_related = (
        "actor",
        "from_wallet__user",
        "to_wallet__user",
        "from_group_wallet__group",
        "to_group_wallet__group",
        "from_hold",
        "to_hold",
    )

    @admin.display(description="from")
    def source(self, obj):
        return obj.from_wallet or obj.from_group_wallet or obj.from_hold

    @admin.display(description="to")
    def destination(self, obj):
        return obj.to_wallet or obj.to_group_wallet or obj.to_hold
