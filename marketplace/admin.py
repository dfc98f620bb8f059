"""Staff views of the core domain. Writes that have rules (group membership, leadership,
conversation counters) go through the services, so the admin shows them read-only."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from waffle.admin import FlagAdmin
from waffle.models import Flag

from .models import (
    Conversation,
    ConversationReadMark,
    FlagGroup,
    Group,
    GroupMembership,
    IdempotencyRecord,
    Message,
    Notification,
    User,
)


class StaffViewMixin:
    """Every active staff user may look at everything here (read-only); changing a row
    still needs the model's permissions, and moving money the roles' custom ones."""

    def _is_staff(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request, obj=None):
        return self._is_staff(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return self._is_staff(request) or super().has_module_permission(request)


class ViewOnlyAdmin(StaffViewMixin, admin.ModelAdmin):
    """Shown, never edited here: no add, no change, no delete (the services write)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(StaffViewMixin, DjangoUserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)


class MembershipInline(StaffViewMixin, admin.TabularInline):
    model = GroupMembership
    fields = ("user", "joined_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Group)
class GroupAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = ("name", "leader", "member_count", "created_at")
    search_fields = ("name", "description", "leader__username")
    list_filter = ("created_at",)
    list_select_related = ("leader",)
    # Groups are created by their leaders, and leadership moves through the service.
    readonly_fields = ("leader", "created_at")
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()


@admin.register(GroupMembership)
class GroupMembershipAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = ("user", "group", "joined_at")
    search_fields = ("user__username", "group__name")
    list_filter = ("joined_at",)
    list_select_related = ("user", "group")

    # Joining and leaving have consequences (tasks, leadership): the services do them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadMarkInline(StaffViewMixin, admin.TabularInline):
    model = ConversationReadMark
    fields = readonly_fields = ("user", "last_read_message_id", "updated_at")
    extra = 0
    can_delete = False
    verbose_name = "read mark"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(StaffViewMixin, admin.ModelAdmin):
    inlines = [ReadMarkInline]
    list_display = ("id", "product_owner", "group", "total_proposals", "created_at")
    search_fields = ("product_owner__username", "group__name")
    list_filter = ("created_at",)
    list_select_related = ("product_owner", "group")
    readonly_fields = (
        "product_owner",
        "group",
        "active_proposal_id",
        "total_proposals",
        "total_completed_projects",
        "created_at",
    )

    def has_add_permission(self, request):
        return False


@admin.register(Message)
class MessageAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = ("id", "conversation", "sender", "short_body", "created_at")
    search_fields = ("body", "sender__username")
    list_filter = ("created_at",)
    list_select_related = ("sender", "conversation")
    readonly_fields = ("conversation", "sender", "metadata", "created_at")

    def has_add_permission(self, request):
        return False

    @admin.display(description="body")
    def short_body(self, obj):
        return obj.body if len(obj.body) <= 60 else obj.body[:59] + "…"


@admin.register(Notification)
class NotificationAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = ("id", "user", "kind", "title", "read_at", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("user__username", "title")
    list_select_related = ("user",)
    readonly_fields = ("user", "kind", "title", "body", "link", "data", "read_at", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(StaffViewMixin, admin.ModelAdmin):
    """Stored replies to retried POSTs: evidence, never edited."""

    list_display = ("key", "user", "response_status", "created_at")
    list_filter = ("response_status", "created_at")
    search_fields = ("key", "user__username")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FlagGroupInline(StaffViewMixin, admin.TabularInline):
    model = FlagGroup
    raw_id_fields = ("group",)
    extra = 0
    verbose_name = "marketplace group"


# Waffle's flag admin, plus the marketplace groups whose members get the flag.
admin.site.unregister(Flag)


@admin.register(Flag)
class RolloutFlagAdmin(FlagAdmin):
    inlines = [FlagGroupInline]
