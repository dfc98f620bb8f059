"""Staff views of disputes: the dispute desk. Opening and resolving a dispute move
escrow, so they go through the dispute services; the outcome fields are read-only here.

The list shows open disputes first, oldest first, with their age, the proposal's price
and the parties. A dispute's page shows the evidence thread (read-only) and, for the
support role (`disputes.resolve_dispute`), a "Resolve" button leading to a form that
calls `dispute_resolve`: refund, release, or split with the amount refunded to the
buyer, and a note. The form starts at the suggestion frozen when the dispute opened
(`disputes.evidence.suggested_resolution`), its note recording why, so one click applies
it; staff can change any of it. Other staff see everything and resolve nothing (403).
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.timesince import timesince
from djmoney.money import Money

from marketplace.core.admin import StaffViewMixin
from marketplace.core.errors import DomainError
from marketplace.core.formats import money_text
from marketplace.core.roles import has_staff_power
from proposals.selectors import payout_preview
from proposals.transitions import RESOLVE_DISPUTES

from .evidence import suggested_resolution
from .models import Dispute, DisputeEvidenceItem, DisputeMessage
from .selectors import snapshot_sections
from .services import dispute_resolve

# The desk's longest cells, shortened so that its table fits a 1280 px screen.
DESK_TITLE_CHARS = 32
DESK_NAME_CHARS = 20


class ReadOnlyInline(StaffViewMixin, admin.TabularInline):
    """Rows the desk reads and never edits: the evidence and the snapshot."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EvidenceInline(ReadOnlyInline):
    model = DisputeMessage
    fields = ("author", "body", "created_at")


class SnapshotInline(ReadOnlyInline):
    """The snapshot frozen when the dispute opened."""

    model = DisputeEvidenceItem
    verbose_name = verbose_name_plural = "snapshot frozen at opening"
    fields = ("topic", "occurred_at", "data")


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[
            (Dispute.Outcome.REFUND, "Refund: everything back to the buyer"),
            (Dispute.Outcome.RELEASE, "Release: pay the group as a confirmation would"),
            (Dispute.Outcome.SPLIT, "Split: refund part, release the rest"),
        ],
        widget=forms.RadioSelect,
    )
    refund_amount = forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="Split only: refunded to the buyer (more than 0, less than the price).",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=2000)

    def clean(self):
        data = super().clean()
        outcome, amount = data.get("outcome"), data.get("refund_amount")
        if outcome == Dispute.Outcome.SPLIT and amount is None:
            self.add_error("refund_amount", "A split needs the amount refunded to the buyer.")
        if outcome and outcome != Dispute.Outcome.SPLIT and amount is not None:
            self.add_error("refund_amount", "Only a split takes a refund amount.")
        return data


@admin.register(Dispute)
class DisputeAdmin(StaffViewMixin, admin.ModelAdmin):
    # Fits a 1280 px screen beside the filters: the age stands for the date, the proposal
    # is its number and a shortened title, the parties one short line.
    list_display = ("id", "status", "age", "proposal_price", "parties", "deal", "outcome")
    list_filter = ("status", "outcome", "created_at")
    search_fields = ("reason", "opened_by__username", "proposal__title")
    list_select_related = (
        "proposal__conversation__group__leader",
        "proposal__conversation__product_owner",
        "opened_by",
    )
    # The desk: open disputes first ("open" sorts before "resolved"), oldest first.
    ordering = ("status", "created_at", "id")
    readonly_fields = (
        "proposal",
        "opened_by",
        "reason",
        "status",
        "proposal_status_before",
        "outcome",
        "refund_amount",
        "suggested_refund_amount",
        "resolution_note",
        "resolved_by",
        "created_at",
        "resolved_at",
    )
    inlines = [EvidenceInline, SnapshotInline]
    change_form_template = "admin/disputes/dispute/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resolve_permission(self, request):
        return has_staff_power(request.user, RESOLVE_DISPUTES.permission)

    @admin.display(description="age", ordering="created_at")
    def age(self, obj):
        end = obj.resolved_at or timezone.now()
        return timesince(obj.created_at, end, depth=2)

    @admin.display(description="proposal price", ordering="proposal__price")
    def proposal_price(self, obj):
        return money_text(obj.proposal.price)

    @admin.display(description="parties")
    def parties(self, obj):
        conversation = obj.proposal.conversation
        return format_html(
            "buyer <strong>{}</strong> vs <strong>{}</strong> (leader {}), opened by {}",
            Truncator(conversation.product_owner.username).chars(DESK_NAME_CHARS),
            Truncator(conversation.group.name).chars(DESK_NAME_CHARS),
            Truncator(conversation.group.leader.username).chars(DESK_NAME_CHARS),
            Truncator(obj.opened_by.username).chars(DESK_NAME_CHARS),
        )

    @admin.display(description="proposal", ordering="proposal")
    def deal(self, obj):
        return f"#{obj.proposal_id} {Truncator(obj.proposal.title).chars(DESK_TITLE_CHARS)}"

    def get_urls(self):
        return [
            path(
                "<path:object_id>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="disputes_dispute_resolve",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_resolve": self.has_resolve_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def resolve_view(self, request, object_id):
        if not self.has_resolve_permission(request):
            raise PermissionDenied
        dispute = get_object_or_404(
            Dispute.objects.select_related(
                "proposal__conversation__group", "proposal__conversation__product_owner"
            ),
            pk=object_id,
        )
        change_url = reverse("admin:disputes_dispute_change", args=[dispute.pk])
        if dispute.status != Dispute.Status.OPEN:
            self.message_user(request, "This dispute is already resolved.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        proposal = dispute.proposal
        suggestion = suggested_resolution(dispute=dispute, price=proposal.price)
        form = ResolveForm(request.POST or None, initial=suggestion)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            refund = data["refund_amount"]
            try:
                dispute_resolve(
                    dispute=dispute,
                    actor=request.user,
                    outcome=data["outcome"],
                    note=data["note"],
                    refund_amount=Money(refund, proposal.price.currency) if refund else None,
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.log_change(request, dispute, f"Resolved ({data['outcome']}): {data['note']}")
                self.message_user(
                    request, f"Dispute #{dispute.pk} resolved: {data['outcome']}.", messages.SUCCESS
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Resolve dispute #{dispute.pk}",
            "opts": self.model._meta,
            "dispute": dispute,
            "proposal": proposal,
            "release_lines": payout_preview(proposal, refund=False),
            "evidence": dispute.messages.select_related("author"),
            "suggestion": suggestion,
            "snapshot": snapshot_sections(dispute.evidence_items.all()),
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/disputes/dispute/resolve.html", context)


@admin.register(DisputeMessage)
class DisputeMessageAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = ("id", "dispute", "author", "created_at")
    search_fields = ("body", "author__username")
    list_filter = ("created_at",)
    list_select_related = ("dispute", "author")
    readonly_fields = ("dispute", "author", "body", "created_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
