"""The old system's projects and orders, kept for reference: read-only."""

from django.contrib import admin

from marketplace.core.admin import ViewOnlyAdmin

from .models import Order, Project


@admin.register(Project)
class ProjectAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "title",
        "owner",
        "budget",
        "status",
        "continued_conversation",
        "is_legacy",
        "created_at",
    )
    list_filter = ("status", "is_legacy", "created_at")
    search_fields = ("title", "description", "owner__username")
    list_select_related = ("owner", "continued_conversation")


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin):
    list_display = ("id", "project", "buyer", "amount", "status", "is_legacy", "created_at")
    list_filter = ("status", "is_legacy", "created_at")
    search_fields = ("project__title", "buyer__username")
    list_select_related = ("project", "buyer")
