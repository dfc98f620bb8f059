"""Pages of the old project/order system: listed and creatable as before, clearly marked
legacy, pointing to the new workflow. The same services as the deprecated API."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from escrow.money import parse_amount
from marketplace.core.errors import DomainError
from marketplace.core.formats import money_text
from marketplace.core.limits import DESCRIPTION_MAX_LENGTH
from marketplace.core.models import Group, GroupMembership
from marketplace.core.pages import page_login_required, refusal

from . import selectors, services


class ProjectForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    budget = forms.CharField(
        max_length=20,
        help_text="For example 500.00.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(
        choices=[(code, code) for code in settings.CURRENCIES], initial=settings.DEFAULT_CURRENCY
    )


class OrderForm(forms.Form):
    amount = forms.CharField(
        max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    )


class ContinueForm(forms.Form):
    group = forms.ModelChoiceField(queryset=Group.objects.none(), empty_label="Choose a group")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # A buyer cannot open a conversation with a group they belong to.
        own = GroupMembership.objects.filter(user=user).values("group_id")
        self.fields["group"].queryset = Group.objects.exclude(pk__in=own).order_by("name", "id")


@page_login_required
@require_http_methods(["GET", "POST"])
def project_list(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = services.project_create(
                owner=request.user,
                title=data["title"],
                description=data["description"],
                budget=parse_amount(data["budget"], data["currency"], field="budget"),
            )
        except DomainError as error:
            refusal(request, error)
        else:
            messages.success(request, f"Legacy project “{project.title}” created.")
            return redirect("legacy:project", project_id=project.pk)
    projects = (
        selectors.project_list(owner=request.user)
        .select_related("continued_conversation__group")
        .prefetch_related("orders")
    )
    return render(request, "legacy/project_list.html", {"projects": projects, "form": form})


def _project_or_404(request, project_id):
    project = (
        selectors.project_list(owner=request.user)
        .select_related("continued_conversation__group")
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise Http404("No such project.")
    return project


@page_login_required
@require_GET
def project_detail(request, project_id):
    project = _project_or_404(request, project_id)
    orders = project.orders.order_by("-created_at", "-id")
    return render(
        request,
        "legacy/project_detail.html",
        {
            "project": project,
            "orders": orders,
            "form": OrderForm(),
            "continue_form": ContinueForm(user=request.user),
        },
    )


@page_login_required
@require_POST
def order_create(request, project_id):
    project = _project_or_404(request, project_id)
    form = OrderForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Please enter an amount such as 12.50.")
        return redirect("legacy:project", project_id=project.pk)
    try:
        amount = parse_amount(form.cleaned_data["amount"], str(project.budget.currency))
        order = services.order_create(buyer=request.user, project_id=project.pk, amount=amount)
    except DomainError as error:
        refusal(request, error)
    else:
        messages.success(request, f"Legacy order #{order.pk} placed for {money_text(amount)}.")
    return redirect("legacy:project", project_id=project.pk)


@page_login_required
@require_POST
def project_continue(request, project_id):
    project = _project_or_404(request, project_id)
    form = ContinueForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, "Please choose a group to continue the project with.")
        return redirect("legacy:project", project_id=project.pk)
    group = form.cleaned_data["group"]
    try:
        conversation = services.project_continue(project=project, actor=request.user, group=group)
    except DomainError as error:
        refusal(request, error)
        return redirect("legacy:project", project_id=project.pk)
    messages.success(request, f"“{project.title}” continues here with {group.name}.")
    return redirect("chat", conversation_id=conversation.pk)
