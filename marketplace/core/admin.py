"""Staff views of the core domain. Writes that have rules (group membership, leadership,
conversation counters) go through the services, so the admin shows them read-only.

No admin reaches a credential: `CredentialGuardMixin` (on every admin of the project,
through `StaffViewMixin`, and added to the third-party ones at the end of this module)
refuses filters, searches and orderings through a user's password or the API token and
session tables, and the users themselves are shown only to the roles that need them."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.base_user import AbstractBaseUser
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP
from knox.models import get_token_model
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
from .roles import is_active_staff

# The fields that are, or hold, a credential, by model (the user model's password is
# added wherever the model is a user model). A path into any of these tables is refused
# whatever field it ends on.
CREDENTIAL_FIELDS = {
    "knox.authtoken": frozenset({"digest", "token_key"}),
    "authtoken.token": frozenset({"key"}),
    "authtoken.tokenproxy": frozenset({"key"}),
    "sessions.session": frozenset({"session_key", "session_data"}),
}
# Refused by name anywhere in a path, also where they no longer resolve (the `auth_token`
# of the removed rest_framework.authtoken) and so would only be "ignored later".
CREDENTIAL_NAMES = frozenset({"password", "auth_token", "auth_token_set"})


def _credential_fields(model) -> frozenset[str]:
    fields = CREDENTIAL_FIELDS.get(model._meta.label_lower, frozenset())
    if issubclass(model, AbstractBaseUser):
        fields |= {"password"}
    return fields


def reaches_credentials(model, path: str) -> bool:
    """Whether a filter, search or ordering path from `model` (`user__password__startswith`,
    `-auth_token_set__digest`, `^username`) touches a credential: a password, or any
    row of a token or session table."""
    parts = path.lstrip("-?^=@").split(LOOKUP_SEP)
    if CREDENTIAL_NAMES.intersection(parts):
        return True
    for part in parts:
        if part == "pk":
            part = model._meta.pk.name
        if part in _credential_fields(model):
            return True
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a lookup or transform (`startswith`), or nothing the query knows
        related = field.related_model if field.is_relation else None
        if related is None:
            return False  # the rest are transforms and lookups of a plain field
        if related._meta.label_lower in CREDENTIAL_FIELDS:
            return True
        model = related
    return False


def _option_paths(model_admin, value) -> list[str]:
    """The field paths named by an admin option (search_fields, list_filter, ordering...)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    paths = []
    for item in value:
        if isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            item = item[0]
        if isinstance(item, str):
            paths.append(item)
            item = getattr(model_admin, item, None)
        order_field = getattr(item, "admin_order_field", None)
        if isinstance(order_field, str):
            paths.append(order_field)
    return paths


class CredentialGuardMixin:
    """Refuses every path to a credential (`reaches_credentials`): a filter in the URL is
    a disallowed lookup (400, like `?auth_token__key__startswith=`), search fields and
    orderings that reach one are dropped, and `manage.py check` fails for an admin whose
    options name one. Without it, a staff user could read a password hash or a token
    prefix by prefix through `?…__startswith=` and the row count."""

    CHECKED_OPTIONS = (
        "search_fields",
        "list_filter",
        "list_display",
        "ordering",
        "sortable_by",
        "date_hierarchy",
    )

    def lookup_allowed(self, lookup, value, request):
        if reaches_credentials(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field):
        if reaches_credentials(self.model, to_field):
            return False
        return super().to_field_allowed(request, to_field)

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        return [field for field in fields if not reaches_credentials(self.model, field)]

    def get_ordering(self, request):
        ordering = super().get_ordering(request) or ()
        return [
            item
            for item in ordering
            if not (isinstance(item, str) and reaches_credentials(self.model, item))
        ]

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        for option in self.CHECKED_OPTIONS:
            for path in _option_paths(self, getattr(self, option, None)):
                if reaches_credentials(self.model, path):
                    errors.append(
                        checks.Error(
                            f"{option} reaches a credential through {path!r}.",
                            obj=type(self),
                            id="marketplace.E001",
                        )
                    )
        return errors


class StaffViewMixin(CredentialGuardMixin):
    """Every active staff user may look at everything here (read-only); changing a row
    still needs the model's permissions, and moving money the roles' custom ones. The
    users are the exception (`UserAdmin`)."""

    def has_view_permission(self, request, obj=None):
        return is_active_staff(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return is_active_staff(request.user) or super().has_module_permission(request)


class ViewOnlyAdmin(StaffViewMixin, admin.ModelAdmin):
    """Shown, never edited here: no add, no change, no delete (the services write)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(CredentialGuardMixin, DjangoUserAdmin):
    """Not every staff user's: Django's model permissions decide, so only superusers and
    the roles holding `marketplace.view_user` (support, for its disputes:
    disputes/migrations/0004_support_views_users.py) see the users. Whoever may view but
    not change them does not see the password field either."""

    list_display = ("username", "email", "is_staff", "is_active", "date_joined", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("username", "email", "first_name", "last_name")
    ordering = ("username",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]


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
class RolloutFlagAdmin(CredentialGuardMixin, FlagAdmin):
    inlines = [FlagGroupInline]


# API tokens (django-rest-knox): knox's own admin shows each token's digest, searches by
# digest and key prefix, and makes tokens for any user, showing the new key to the
# staff user. This one shows who holds tokens until when; superusers (knox's model
# permissions: no role has them) revoke a token by deleting it.
AuthToken = get_token_model()
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(AuthToken)
class ApiTokenAdmin(CredentialGuardMixin, admin.ModelAdmin):
    list_display = ("user", "created", "expiry")
    list_filter = ("created", "expiry")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = readonly_fields = ("user", "created", "expiry")
    ordering = ("-created",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def guard_registered_admins(site) -> None:
    """Gives the credential guard to the admins registered before this module by other
    apps (auth's groups, waffle's switches and samples): the apps after "marketplace"
    build on `StaffViewMixin`, and tests/ops/test_admin_credentials.py proves that every
    registered admin has the guard."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, CredentialGuardMixin):
            continue
        admin_class = type(model_admin)
        guarded = type(admin_class.__name__, (CredentialGuardMixin, admin_class), {})
        site.unregister(model)
        site.register(model, guarded)


guard_registered_admins(admin.site)
