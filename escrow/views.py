"""Wallet pages: balances, the chart, the history with what each line was for (as the
statement counts it), sandbox deposits, withdrawal requests, and the group wallet for its
members. Every movement goes through `escrow.services`, as the API's does."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from marketplace.core import selectors as marketplace_selectors
from marketplace.core.errors import DomainError
from marketplace.core.formats import amount_text, money_text
from marketplace.core.pages import page_login_required, refusal

from . import selectors, services
from .chart import balance_series, chart_of
from .history import history_page
from .models import EscrowTransaction
from .money import parse_amount
from .sealing import latest_seal

Kind = EscrowTransaction.Kind


class MoneyForm(forms.Form):
    amount = forms.CharField(
        max_length=20,
        help_text="For example 250.00.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    # Rendered with the form: sending the same form twice (a double click, a reload)
    # reaches the service under the same key and moves the money once. The service files
    # it under this user's wallet and this operation only (`escrow.services`).
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)


LABELS = {"deposit": "Amount to add", "withdraw": "Amount to withdraw"}


def _fresh_form(prefix: str) -> MoneyForm:
    form = MoneyForm(prefix=prefix, initial={"key": services.new_key()})
    form.fields["amount"].label = LABELS[prefix]
    return form


def _proposal_of(entry):
    hold = entry.from_hold or entry.to_hold
    return getattr(hold, "proposal", None) if hold is not None else None


def describe(entry) -> str:
    """What a ledger line was for, in words. Release legs show up twice: as money in for
    whoever is paid, and as money out of the escrow the buyer funded."""
    proposal = _proposal_of(entry)
    about = f"“{proposal.title}”" if proposal is not None else "a proposal"
    incoming = getattr(entry, "direction", "in") == "in"
    if entry.kind == Kind.DEPOSIT:
        return "Deposit (sandbox payment)"
    if entry.kind == Kind.WITHDRAWAL:
        return "Withdrawal requested"
    if entry.kind == Kind.OPENING_BALANCE:
        return "Opening balance carried over from the old system"
    if entry.kind == Kind.LOCK:
        return f"Paid into escrow for {about}"
    if entry.kind == Kind.REFUND:
        return f"Escrow refunded for {about}"
    if entry.kind == Kind.MEMBER_SHARE:
        if incoming:
            return f"Your member share of {about}"
        return f"Released from escrow: a member's share of {about}"
    if entry.kind == Kind.LEADER_COMMISSION:
        if incoming:
            return f"Your leader commission on {about}"
        return f"Released from escrow: the leader's commission on {about}"
    if entry.kind == Kind.PLATFORM_FEE:
        return f"Released from escrow: the platform fee on {about}"
    return entry.get_kind_display()


def signed(change, currency: str) -> str:
    """A change of balance with its sign, "+30.00 USD" (a true minus sign for money out);
    blank for no change."""
    if not change:
        return ""
    sign = "+" if change > 0 else "\N{MINUS SIGN}"
    return f"{sign}{amount_text(abs(change))} {currency}"


def leg_label(entry) -> str:
    """One leg of a folded release, in words: what it was and who got it."""
    if entry.kind == Kind.PLATFORM_FEE:
        return "Platform fee"
    who = entry.to_wallet.user.username if entry.to_wallet and entry.to_wallet.user else ""
    if entry.kind == Kind.LEADER_COMMISSION:
        return f"Leader commission to {who}"
    return f"Member share to {who}"


def _summary_context(request) -> dict:
    return {"wallet": selectors.wallet_get(user=request.user)}


@page_login_required
@require_GET
def wallet(request):
    wallet = selectors.wallet_get(user=request.user)
    page, lines = history_page(wallet=wallet, number=request.GET.get("page"))
    for line in lines:
        if line.legs:
            line.description = (
                f"Released from escrow to {line.released_to.name}: {amount_text(line.released)}"
            )
        else:
            line.description = describe(line.entry)
        line.available_text = signed(line.available_change, wallet.currency)
        line.escrow_text = signed(line.escrow_change, wallet.currency)
        for leg in line.legs:
            leg.label = leg_label(leg)
    return render(
        request,
        "escrow/wallet.html",
        {
            "wallet": wallet,
            "page": page,
            "lines": lines,
            "chart": chart_of(balance_series(account=wallet)),
            "deposit_form": _fresh_form("deposit"),
            "withdraw_form": _fresh_form("withdraw"),
            "sandbox": settings.PAYMENTS_SANDBOX,
            "latest_seal": latest_seal(),
        },
    )


@page_login_required
@require_GET
def wallet_summary(request):
    """The three balances alone, re-fetched by htmx on `wallet.updated`."""
    return render(request, "escrow/_summary.html", _summary_context(request))


def _move(request, *, prefix: str, service, what: str, hint: str, done: str):
    form = MoneyForm(request.POST, prefix=prefix)
    if not form.is_valid():
        messages.error(request, "Please enter an amount such as 12.50.")
        return redirect("escrow:wallet")
    wallet = selectors.wallet_get(user=request.user)
    try:
        amount = parse_amount(form.cleaned_data["amount"], wallet.currency)
        service(user=request.user, amount=amount, idempotency_key=form.cleaned_data["key"])
    except DomainError as error:
        context = {}
        if error.code == "insufficient_funds":
            context = {
                "available": wallet.available_balance,
                "amount": amount,
                "what": what,
                "hint": hint,
            }
        refusal(request, error, **context)
    else:
        messages.success(request, done.format(amount=money_text(amount)))
    return redirect("escrow:wallet")


@page_login_required
@require_POST
def wallet_deposit(request):
    return _move(
        request,
        prefix="deposit",
        service=services.wallet_deposit,
        what="the deposit",
        hint="",
        done="{amount} was added to your wallet.",
    )


@page_login_required
@require_POST
def wallet_withdraw(request):
    return _move(
        request,
        prefix="withdraw",
        service=services.wallet_withdraw,
        what="the withdrawal",
        hint="Withdraw at most your available balance.",
        done="Your withdrawal of {amount} is requested: it is on its way to your bank.",
    )


@page_login_required
@require_GET
def group_wallet(request, group_id):
    """Members only: anyone else is told the group does not exist (as the API does)."""
    if not marketplace_selectors.group_is_member(group_id=group_id, user=request.user):
        raise Http404("No such group.")
    group = marketplace_selectors.group_get(group_id=group_id)
    wallet = selectors.group_wallet_get(group=group)
    return render(
        request,
        "escrow/group_wallet.html",
        {"group": group, "wallet": wallet, "chart": chart_of(balance_series(account=wallet))},
    )
