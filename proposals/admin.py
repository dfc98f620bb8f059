"""Staff views of proposals and tasks. Status and money change only through the proposal
services (they move escrow), so those fields are read-only here."""

from django.contrib import admin

from .models import Proposal, Task


class TaskInline(admin.TabularInline):
    model = Task
    fields = ("title", "assigned_to", "status", "due_date")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "conversation", "price", "status", "is_legacy", "created_at")
    list_filter = ("status", "is_legacy", "price_currency", "created_at")
    search_fields = ("title", "description", "created_by__username")
    list_select_related = ("conversation",)
    readonly_fields = (
        "conversation",
        "created_by",
        "price",
        "status",
        "is_legacy",
        "platform_fee_rate",
        "leader_commission_rate",
        "platform_fee",
        "leader_commission",
        "member_pool",
        "escrow_amount",
        "escrow_hold",
        "participants",
        "created_at",
        "updated_at",
        "accepted_at",
        "started_at",
        "delivered_at",
        "completed_at",
        "rejected_at",
        "withdrawn_at",
        "cancelled_at",
        "disputed_at",
        "resolved_at",
    )
    inlines = [TaskInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "proposal", "assigned_to", "status", "due_date")
    list_filter = ("status", "due_date")
    search_fields = ("title", "description", "assigned_to__username")
    list_select_related = ("proposal", "assigned_to")
    # The assignee must be a member of the group: the task services check it.
    readonly_fields = ("proposal", "assigned_to", "status", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False
