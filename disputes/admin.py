"""Staff views of disputes. Opening and resolving a dispute move escrow, so they go
through the dispute services; the outcome fields are read-only here."""

from django.contrib import admin

from .models import Dispute, DisputeMessage


class EvidenceInline(admin.TabularInline):
    model = DisputeMessage
    fields = ("author", "body", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ("id", "proposal", "opened_by", "status", "outcome", "created_at")
    list_filter = ("status", "outcome", "created_at")
    search_fields = ("reason", "opened_by__username", "proposal__title")
    list_select_related = ("proposal", "opened_by")
    readonly_fields = (
        "proposal",
        "opened_by",
        "reason",
        "status",
        "proposal_status_before",
        "outcome",
        "refund_amount",
        "resolution_note",
        "resolved_by",
        "created_at",
        "resolved_at",
    )
    inlines = [EvidenceInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DisputeMessage)
class DisputeMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "dispute", "author", "created_at")
    search_fields = ("body", "author__username")
    list_filter = ("created_at",)
    list_select_related = ("dispute", "author")
    readonly_fields = ("dispute", "author", "body", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
