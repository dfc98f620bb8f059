"""Pages of disputes: open one with a reason, the evidence thread, status and outcome.

The same services as the API: `dispute_open`, `dispute_add_message`. Resolution is for
staff, in the admin.
"""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marketplace.core.errors import DomainError
from marketplace.core.pages import found_or_404, new_workflow_required, refusal
from proposals import selectors as proposal_selectors
from proposals.transitions import TRANSITIONS, has_role

from . import selectors
from .models import Dispute
from .services import dispute_add_message, dispute_open


class DisputeOpenForm(forms.Form):
    reason = forms.CharField(
        label="What went wrong?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Staff read this first. Say what was agreed and what happened.",
    )


class EvidenceForm(forms.Form):
    body = forms.CharField(
        label="Add evidence or a reply", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


def _may_open(proposal, user) -> bool:
    transition = TRANSITIONS["dispute"]
    return (
        not proposal.is_legacy
        and proposal.status in transition.sources
        and has_role(proposal=proposal, role=transition.role, actor=user)
    )


@new_workflow_required
@require_http_methods(["GET", "POST"])
def dispute_new(request, proposal_id):
    proposal = found_or_404(
        proposal_selectors.proposal_get, proposal_id=proposal_id, user=request.user
    )
    form = DisputeOpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dispute = dispute_open(
                proposal=proposal, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            refusal(request, error)
        else:
            messages.success(
                request,
                "Your dispute is open. The escrow is frozen until staff resolve it; add any "
                "evidence below.",
            )
            return redirect("disputes:detail", dispute_id=dispute.pk)
    return render(
        request,
        "disputes/dispute_new.html",
        {"proposal": proposal, "form": form, "may_open": _may_open(proposal, request.user)},
    )


def _dispute_or_404(request, dispute_id) -> Dispute:
    return found_or_404(selectors.dispute_get, dispute_id=dispute_id, user=request.user)


def _detail_context(request, dispute: Dispute) -> dict:
    return {
        "dispute": dispute,
        "proposal": dispute.proposal,
        "evidence": dispute.messages.all(),  # prefetched, oldest first
        "snapshot": selectors.snapshot_sections(dispute.evidence_items.all()),  # prefetched
        "form": EvidenceForm() if dispute.status == Dispute.Status.OPEN else None,
    }


@new_workflow_required
@require_GET
def dispute_detail(request, dispute_id):
    dispute = _dispute_or_404(request, dispute_id)
    return render(request, "disputes/dispute_detail.html", _detail_context(request, dispute))


@new_workflow_required
@require_GET
def dispute_thread(request, dispute_id):
    """Status, outcome and evidence, re-fetched by htmx on `dispute.updated`."""
    dispute = _dispute_or_404(request, dispute_id)
    return render(request, "disputes/_thread.html", _detail_context(request, dispute))


@new_workflow_required
@require_POST
def dispute_message(request, dispute_id):
    dispute = _dispute_or_404(request, dispute_id)
    form = EvidenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write something before sending.")
    else:
        try:
            dispute_add_message(dispute=dispute, actor=request.user, body=form.cleaned_data["body"])
        except DomainError as error:
            refusal(request, error)
        else:
            messages.success(request, "Your evidence was added to the dispute.")
    return redirect("disputes:detail", dispute_id=dispute.pk)


@new_workflow_required
@require_GET
def dispute_list(request):
    """The disputes of the proposals the user takes part in."""
    proposals = proposal_selectors.proposal_list(user=request.user)
    disputes = (
        Dispute.objects.filter(proposal__in=proposals.values("pk"))
        .select_related("proposal", "opened_by")
        .order_by("-created_at", "-id")
    )
    return render(request, "disputes/dispute_list.html", {"disputes": disputes})
