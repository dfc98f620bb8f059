"""Staff views of the ledger. Money moves only through `escrow.services`: balances are a
cache of the ledger, and the ledger is append-only, so nothing here edits either.

The finance role (`escrow.adjust_wallet`) corrects a user's wallet with "Adjust balance":
a form with a signed amount and a reason that calls `services.wallet_adjust`, which
records one ledger entry against the platform account. Finance also downloads the
platform fees by month as CSV (`escrow.view_fee_statement`). Other staff get 403.
"""

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from djmoney.money import Money

from marketplace.core.admin import ViewOnlyAdmin
from marketplace.core.errors import DomainError
from marketplace.core.formats import money_text

from . import services, statements
from .models import EscrowHold, EscrowTransaction, GroupWallet, LedgerSeal, Wallet

ADJUST_PERMISSION = "escrow.adjust_wallet"
FEE_STATEMENT_PERMISSION = "escrow.view_fee_statement"


class AdjustForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Positive credits the wallet (paid by the platform); negative debits it.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=255)
    # One key per form shown: submitting the same form twice adjusts once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("The amount cannot be zero.")
        return amount


def money_column(field: str):
    """A list column writing the money field as the rest of the site does ("650.00 USD",
    where djmoney would print "$650.00"), still sortable by it."""

    @admin.display(description=field.replace("_", " "), ordering=field)
    def column(obj):
        return money_text(getattr(obj, field))

    column.__name__ = field  # the column's CSS class in the list
    return column


@admin.register(Wallet)
class WalletAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "user",
        money_column("balance"),
        money_column("available_balance"),
        money_column("escrow_balance"),
    )
    list_filter = ("kind", "balance_currency")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    actions = ["adjust_balance"]

    def has_adjust_permission(self, request):
        return request.user.has_perm(ADJUST_PERMISSION)

    def changelist_view(self, request, extra_context=None):
        if request.POST.get("action") == "adjust_balance" and not self.has_adjust_permission(
            request
        ):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    @admin.action(description="Adjust balance…", permissions=["adjust"])
    def adjust_balance(self, request, queryset):
        wallets = list(queryset.filter(kind=Wallet.Kind.USER)[:2])
        if len(wallets) != 1:
            self.message_user(request, "Select exactly one user wallet.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:escrow_wallet_adjust", args=[wallets[0].pk]))

    def get_urls(self):
        return [
            path(
                "<path:object_id>/adjust/",
                self.admin_site.admin_view(self.adjust_view),
                name="escrow_wallet_adjust",
            ),
            *super().get_urls(),
        ]

    def adjust_view(self, request, object_id):
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(
            Wallet.objects.select_related("user"), pk=object_id, kind=Wallet.Kind.USER
        )
        if request.method == "POST":
            form = AdjustForm(request.POST)
        else:
            form = AdjustForm(initial={"idempotency_key": f"admin-adjust:{uuid.uuid4().hex}"})
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                entry = services.wallet_adjust(
                    wallet=wallet,
                    amount=Money(data["amount"], wallet.currency),
                    reason=data["reason"],
                    actor=request.user,
                    idempotency_key=data["idempotency_key"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                signed = entry.amount.amount * (1 if entry.to_wallet_id == wallet.pk else -1)
                self.log_change(request, wallet, f"Adjusted by {signed:+.2f}: {data['reason']}")
                self.message_user(
                    request,
                    f"{wallet} adjusted by {signed:+.2f} {wallet.currency}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:escrow_wallet_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust {wallet}",
            "opts": self.model._meta,
            "wallet": wallet,
            "form": form,
        }
        return TemplateResponse(request, "admin/escrow/wallet/adjust.html", context)


@admin.register(GroupWallet)
class GroupWalletAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "group",
        money_column("available_balance"),
        money_column("escrow_balance"),
        money_column("total_escrow_received"),
    )
    list_filter = ("balance_currency",)
    search_fields = ("group__name",)
    list_select_related = ("group",)


@admin.register(EscrowHold)
class EscrowHoldAdmin(ViewOnlyAdmin):
    list_display = ("id", "buyer_wallet", "group_wallet", "held", "deal", "created_at")
    list_filter = ("amount_currency", "created_at")
    search_fields = ("buyer_wallet__user__username", "group_wallet__group__name")
    # `proposal` is the reverse side of Proposal.escrow_hold (legacy holds have none): read
    # by name, so escrow imports nothing from the app above it.
    list_select_related = ("buyer_wallet__user", "group_wallet__group", "proposal")

    @admin.display(description="amount", ordering="amount")
    def held(self, obj):
        return money_text(obj.amount)

    @admin.display(description="proposal")
    def deal(self, obj):
        proposal = getattr(obj, "proposal", None)
        if proposal is None:
            return "—"
        url = reverse("admin:proposals_proposal_change", args=[proposal.pk])
        return format_html('<a href="{}">#{} {}</a>', url, proposal.pk, proposal.title)


@admin.register(EscrowTransaction)
class EscrowTransactionAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "kind",
        money_column("amount"),
        "source",
        "destination",
        "actor",
        "memo",
    )
    change_list_template = "admin/escrow/escrowtransaction/change_list.html"

    def get_urls(self):
        return [
            path(
                "fees-by-month.csv",
                self.admin_site.admin_view(self.fee_statement_view),
                name="escrow_fee_statement",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_export_fees": request.user.has_perm(FEE_STATEMENT_PERMISSION),
        }
        return super().changelist_view(request, extra_context)

    def fee_statement_view(self, request):
        if not request.user.has_perm(FEE_STATEMENT_PERMISSION):
            raise PermissionDenied
        response = HttpResponse(
            statements.to_csv(statements.fee_statement_rows()), content_type="text/csv"
        )
        name = f"platform-fees-{timezone.now():%Y-%m-%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

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


@admin.register(LedgerSeal)
class LedgerSealAdmin(ViewOnlyAdmin):
    """The hash chain over the ledger (`escrow.sealing`); `manage.py reconcile` proves it."""

    list_display = ("id", "created_at", "after_id", "sealed_through_id", "row_count", "hash")
    ordering = ("-id",)
