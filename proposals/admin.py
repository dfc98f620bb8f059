"""Staff views of proposals and tasks. Status and money change only through the proposal
services (they move escrow), so those fields are read-only here.

The finance role releases or refunds an undisputed proposal's escrow with the actions
"Release escrow" and "Refund escrow": a confirmation page shows the exact split and asks
for a reason, then `proposal_release_by_staff` / `proposal_refund_by_staff` run (the very
services the rest of the workflow uses), with the staff user as the actor. Other staff
do not see the actions, and a hand-made POST is refused with 403.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from djmoney.money import Money

from marketplace.core.admin import StaffViewMixin
from marketplace.core.errors import DomainError
from marketplace.core.roles import has_staff_power

from .models import Proposal, Task
from .selectors import payout_preview
from .services import proposal_refund_by_staff, proposal_release_by_staff
from .transitions import TRANSITIONS


@dataclass(frozen=True)
class MoneyAction:
    transition: str
    service: object
    verb: str
    past: str

    def allowed(self, user) -> bool:
        """The staff power the transition table asks for; the service also refuses a
        proposal the user takes part in."""
        return has_staff_power(user, TRANSITIONS[self.transition].role.permission)


MONEY_ACTIONS = {
    "release_escrow": MoneyAction(
        "staff_release", proposal_release_by_staff, "Release", "Released"
    ),
    "refund_escrow": MoneyAction("staff_refund", proposal_refund_by_staff, "Refund", "Refunded"),
}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=1000,
        help_text="Kept in the admin history and posted in the conversation.",
    )
    before_delivery = forms.BooleanField(
        required=False,
        label="I release it although the group never delivered the work",
    )

    def __init__(self, *args, undelivered: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.undelivered = undelivered
        if undelivered:
            self.fields["before_delivery"].required = True
            self.fields["reason"].help_text = (
                "Say why the group is paid before delivering, as for a dispute: it is kept "
                "in the admin history and posted in the conversation."
            )
        else:
            del self.fields["before_delivery"]


def escrow_split(proposal: Proposal, action: str) -> dict:
    """The confirmation page's view of one proposal: what the action would move, to the
    cent (`selectors.payout_preview`), or why the service will refuse it."""
    held = proposal.escrow_hold.amount if proposal.escrow_hold_id else Money(0, "USD")
    transition = TRANSITIONS[MONEY_ACTIONS[action].transition]
    problem = ""
    if proposal.status == Proposal.Status.DISPUTED:
        problem = "Disputed: resolve it at the dispute desk."
    elif proposal.is_legacy or proposal.status not in transition.sources:
        problem = f"Cannot be settled by staff: the proposal is {proposal.status}."
    lines = [] if problem else payout_preview(proposal, refund=action == "refund_escrow")
    undelivered = (
        not problem and action == "release_escrow" and proposal.status != Proposal.Status.DELIVERED
    )
    return {
        "proposal": proposal,
        "held": held,
        "problem": problem,
        "lines": lines,
        "undelivered": undelivered,
    }


class TaskInline(StaffViewMixin, admin.TabularInline):
    model = Task
    fields = ("title", "assigned_to", "status", "points", "due_date")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Proposal)
class ProposalAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "conversation",
        "price",
        "escrow_amount",
        "status",
        "pool_split",
        "auto_release_at",
        "is_legacy",
        "created_at",
    )
    actions = ["release_escrow", "refund_escrow"]
    list_filter = ("status", "pool_split", "is_legacy", "price_currency", "created_at")
    search_fields = ("title", "description", "created_by__username")
    list_select_related = ("conversation",)
    readonly_fields = (
        "conversation",
        "created_by",
        "price",
        "status",
        "pool_split",
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
        "auto_release_at",
        "auto_release_extended_until",
        "auto_release_reminders_sent",
        "auto_release_reminded_for",
    )
    inlines = [TaskInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_release_escrow_permission(self, request):
        return MONEY_ACTIONS["release_escrow"].allowed(request.user)

    def has_refund_escrow_permission(self, request):
        return MONEY_ACTIONS["refund_escrow"].allowed(request.user)

    def changelist_view(self, request, extra_context=None):
        # Hidden actions are also refused outright, not silently ignored.
        action = MONEY_ACTIONS.get(request.POST.get("action", ""))
        if request.method == "POST" and action and not action.allowed(request.user):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    @admin.action(description="Release escrow…", permissions=["release_escrow"])
    def release_escrow(self, request, queryset):
        return self._settle(request, queryset, "release_escrow")

    @admin.action(description="Refund escrow…", permissions=["refund_escrow"])
    def refund_escrow(self, request, queryset):
        return self._settle(request, queryset, "refund_escrow")

    def _settle(self, request, queryset, action: str):
        spec = MONEY_ACTIONS[action]
        if not spec.allowed(request.user):
            raise PermissionDenied
        proposals = list(
            queryset.select_related(
                "conversation__group", "conversation__product_owner", "escrow_hold"
            ).order_by("pk")
        )
        splits = [escrow_split(proposal, action) for proposal in proposals]
        form = ReasonForm(
            request.POST if request.POST.get("confirm") == "yes" else None,
            undelivered=any(split["undelivered"] for split in splits),
        )
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = 0
            for proposal in proposals:
                try:
                    spec.service(proposal=proposal, actor=request.user, reason=reason)
                except DomainError as error:
                    self.message_user(
                        request, f"Proposal #{proposal.pk}: {error.message}", messages.ERROR
                    )
                    continue
                self.log_change(request, proposal, f"{spec.verb} escrow: {reason}")
                done += 1
            if done:
                self.message_user(
                    request, f"{spec.past} the escrow of {done} proposal(s).", messages.SUCCESS
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"{spec.verb} escrow",
            "opts": self.model._meta,
            "action": action,
            "verb": spec.verb,
            "splits": splits,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(
            request, "admin/proposals/proposal/escrow_confirmation.html", context
        )


@admin.register(Task)
class TaskAdmin(StaffViewMixin, admin.ModelAdmin):
    list_display = ("id", "title", "proposal", "assigned_to", "status", "points", "due_date")
    list_filter = ("status", "due_date")
    search_fields = ("title", "description", "assigned_to__username")
    list_select_related = ("proposal", "assigned_to")
    # The assignee must be a member of the group: the task services check it.
    # Points move a task-points pool: the leader changes them through the service.
    readonly_fields = ("proposal", "assigned_to", "status", "points", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False
