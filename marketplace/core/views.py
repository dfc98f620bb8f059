"""The core's pages: accounts, groups and discovery, conversations and the chat,
notifications. What every app's pages share is in `marketplace.core.pages`.

Views are thin, like the API's: parse a form, call the same service or selector as the
API, turn a `DomainError` into a flash message in plain words, redirect.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import login
from django.core.paginator import Paginator
from django.db.models import Max, Prefetch
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import accounts, selectors, services
from .errors import DomainError
from .forms import (
    GroupCreateForm,
    GroupSearchForm,
    LeadershipTransferForm,
    MemberAddForm,
    MessageForm,
    SignUpForm,
)
from .models import Conversation, GroupMembership
from .pages import (
    conversation_or_404,
    found_or_404,
    friendly_message,
    page_login_required,
    refusal,
)
from .rollout import flag_active_for

GROUPS_PER_PAGE = 12


# --- accounts ------------------------------------------------------------------------


def _next_page(request) -> str:
    """Where the visitor was going before signing up (`next`), if it is on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else ""


@require_http_methods(["GET", "POST"])
def signup(request):
    next_page = _next_page(request)
    if request.user.is_authenticated:
        return redirect(next_page or "groups")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.user_register(
                username=data["username"], email=data["email"], password=data["password1"]
            )
        except DomainError as error:
            form.add_error("username", friendly_message(error))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}! Your wallet is open.")
            return redirect(next_page or "groups")
    return render(request, "registration/signup.html", {"form": form, "next": next_page})


# --- groups --------------------------------------------------------------------------


def _members_in_order():
    return Prefetch(
        "memberships",
        queryset=GroupMembership.objects.select_related("user").in_joining_order(),
    )


# Discovery and profiles are public: anyone may browse before signing up.
@require_GET
def group_discover(request):
    form = GroupSearchForm(request.GET or None)
    search = skill = ""
    if form.is_valid():
        search, skill = form.cleaned_data["q"], form.cleaned_data["skill"]
    groups = selectors.group_list(search=search, skill=skill).prefetch_related(_members_in_order())
    page = Paginator(groups, GROUPS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "marketplace/group_discover.html",
        {"form": form, "page": page, "query": query.urlencode(), "search": search, "skill": skill},
    )


@require_GET
def group_profile(request, group_id):
    group = found_or_404(selectors.group_detail, group_id=group_id)
    members = list(group.memberships.all())
    is_member = any(membership.user_id == request.user.pk for membership in members)
    conversation = (
        Conversation.objects.filter(product_owner=request.user, group=group).first()
        if request.user.is_authenticated
        else None
    )
    return render(
        request,
        "marketplace/group_profile.html",
        {
            "group": group,
            "members": members,
            "is_member": is_member,
            "conversation": conversation,
            "completed_projects": group.completed_projects,
        },
    )


@page_login_required
@require_POST
def conversation_start(request, group_id):
    group = found_or_404(selectors.group_get, group_id=group_id)
    try:
        conversation, created = services.conversation_open(buyer=request.user, group=group)
    except DomainError as error:
        refusal(request, error)
        return redirect("group_profile", group_id=group.pk)
    if created:
        messages.success(request, f"You opened a conversation with {group.name}.")
    return redirect("chat", conversation_id=conversation.pk)


@page_login_required
@require_http_methods(["GET", "POST"])
def my_groups(request):
    form = GroupCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = services.group_create(
                leader=request.user,
                name=data["name"],
                description=data["description"],
                skills=data["skills"],
            )
        except DomainError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, f"Your group {group.name} is ready. Add its members below.")
            return redirect("group_manage", group_id=group.pk)
    # group_list counts members in a subquery: counting over the join this filter makes
    # would count only the user's own membership.
    groups = selectors.group_list().filter(memberships__user=request.user).order_by("name", "id")
    return render(request, "marketplace/my_groups.html", {"groups": groups, "form": form})


def _membership_or_404(request, group_id) -> GroupMembership:
    membership = selectors.group_member_get(group_id=group_id, user=request.user)
    if membership is None:
        raise Http404("No such group.")
    return membership


@page_login_required
@require_GET
def group_manage(request, group_id):
    _membership_or_404(request, group_id)
    group = selectors.group_detail(group_id=group_id)
    members = list(group.memberships.all())
    others = [membership.user for membership in members if membership.user_id != group.leader_id]
    return render(
        request,
        "marketplace/group_manage.html",
        {
            "group": group,
            "members": members,
            "is_leader": group.leader_id == request.user.pk,
            "add_form": MemberAddForm(),
            "transfer_form": LeadershipTransferForm(members=others),
            "can_transfer": bool(others),
        },
    )


@page_login_required
@require_POST
def group_member_add(request, group_id):
    membership = _membership_or_404(request, group_id)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.group_member_add_by_username(
                group=membership.group, actor=request.user, username=form.cleaned_data["username"]
            )
        except DomainError as error:
            refusal(request, error)
        else:
            messages.success(request, f"{added.user.username} joined {membership.group.name}.")
    else:
        messages.error(request, "Enter the username of the person to add.")
    return redirect("group_manage", group_id=group_id)


@page_login_required
@require_POST
def group_leave(request, group_id):
    membership = _membership_or_404(request, group_id)
    try:
        services.group_leave(group=membership.group, user=request.user)
    except DomainError as error:
        refusal(request, error)
        return redirect("group_manage", group_id=group_id)
    messages.success(request, f"You left {membership.group.name}.")
    return redirect("my_groups")


@page_login_required
@require_POST
def group_transfer(request, group_id):
    membership = _membership_or_404(request, group_id)
    group = selectors.group_detail(group_id=group_id)
    others = [m.user for m in group.memberships.all() if m.user_id != group.leader_id]
    form = LeadershipTransferForm(request.POST, members=others)
    if not form.is_valid():
        messages.error(request, "Choose the member who will lead the group.")
        return redirect("group_manage", group_id=group_id)
    try:
        group = services.group_leadership_transfer(
            group=membership.group,
            actor=request.user,
            new_leader_id=form.cleaned_data["new_leader"],
        )
    except DomainError as error:
        refusal(request, error)
    else:
        messages.success(request, f"{group.leader.username} now leads {group.name}.")
    return redirect("group_manage", group_id=group_id)


@page_login_required
@require_POST
def group_delete(request, group_id):
    membership = _membership_or_404(request, group_id)
    name = membership.group.name
    try:
        services.group_delete(group=membership.group, actor=request.user)
    except DomainError as error:
        refusal(request, error)
        return redirect("group_manage", group_id=group_id)
    messages.success(request, f"The group {name} was deleted.")
    return redirect("my_groups")


# --- conversations -------------------------------------------------------------------


@page_login_required
@require_GET
def conversation_list(request):
    conversations = (
        selectors.conversation_list(user=request.user)
        .select_related("group", "product_owner")
        .annotate(last_message_at=Max("messages__created_at"))
    )
    return render(request, "marketplace/conversation_list.html", {"conversations": conversations})


# The apps above the core add their part of the chat page (proposals add their cards and
# form) by appending a `(request, conversation) -> context` function in their ready().
chat_panels: list[Callable[[HttpRequest, Conversation], dict]] = []


@page_login_required
@require_GET
def chat(request, conversation_id):
    conversation = conversation_or_404(request, conversation_id)
    chat_messages = list(selectors.message_list(conversation=conversation))
    if chat_messages:
        # Opening the chat reads it (idempotent: the mark only moves forward).
        services.conversation_mark_read(
            conversation=conversation, user=request.user, message_id=chat_messages[-1].pk
        )
    context = {
        "conversation": conversation,
        "chat_messages": chat_messages,
        "last_message_id": chat_messages[-1].pk if chat_messages else 0,
        "message_form": MessageForm(),
        "is_buyer": conversation.product_owner_id == request.user.pk,
        "is_leader": conversation.group.leader_id == request.user.pk,
        "new_workflow": flag_active_for(request.user),
    }
    if context["new_workflow"]:
        for panel in chat_panels:
            context.update(panel(request, conversation))
    return render(request, "marketplace/chat.html", context)


@page_login_required
@require_POST
def message_post(request, conversation_id):
    """The chat's fallback when the websocket is not open: a plain form POST."""
    conversation = conversation_or_404(request, conversation_id)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            services.message_send(
                conversation=conversation, sender=request.user, body=form.cleaned_data["body"]
            )
        except DomainError as error:
            refusal(request, error)
    else:
        messages.error(request, friendly_message(DomainError("", code="blank_message")))
    return redirect(reverse("chat", args=[conversation.pk]) + "#composer")


# --- notifications -------------------------------------------------------------------


@page_login_required
@require_GET
def notification_list(request):
    page = Paginator(selectors.notification_list(user=request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "marketplace/notifications.html", {"page": page})


@page_login_required
@require_GET
def notification_bell(request):
    """The header's bell, re-fetched by htmx when a notification arrives."""
    return render(request, "marketplace/_bell.html")


@page_login_required
@require_POST
def notifications_read(request):
    from .notifications import notifications_mark_read

    count = notifications_mark_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect("notifications")
