"""Pages of the proposal workflow: the proposal cards of the chat and their actions, the
"new proposal" form, and the task dashboard.

Every action calls the same service as the API. Which buttons a viewer sees is read from
the services' own transition table (`TRANSITIONS` and `has_role`), so a button is shown
exactly when the service would allow the step.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from escrow.money import Rates
from escrow.selectors import wallet_get
from legacy.selectors import proposal_initial_for
from marketplace.core import selectors as marketplace_selectors
from marketplace.core.errors import DomainError
from marketplace.core.formats import money_text
from marketplace.core.models import Conversation
from marketplace.core.pages import (
    conversation_or_404,
    found_or_404,
    friendly_message,
    is_htmx,
    new_workflow_required,
    refusal,
)

from . import selectors, services, transitions
from .flashes import flash_at, keep_form, take_flash, take_form
from .forms import ProposalForm, RequestChangesForm, TaskAssignForm, TaskForm, TaskMoveForm
from .models import Proposal, Task

Status = Proposal.Status

# The buttons of a proposal card, in the order shown: (action, label, style).
CARD_ACTIONS = [
    ("accept", "Accept and pay into escrow", "primary"),
    ("reject", "Reject", "secondary"),
    ("confirm", "Confirm delivery and release payment", "primary"),
    ("request_changes", "Request changes", "secondary"),
    ("withdraw", "Withdraw", "secondary"),
    ("start", "Start work", "primary"),
    ("deliver", "Mark as delivered", "primary"),
    ("cancel", "Cancel and refund the buyer", "danger"),
    ("dispute", "Open a dispute", "danger"),
]

# The services behind the buttons; "dispute" has its own page (disputes app).
ACTION_SERVICES = {
    "accept": services.proposal_accept,
    "reject": services.proposal_reject,
    "withdraw": services.proposal_withdraw,
    "start": services.proposal_start,
    "deliver": services.proposal_deliver,
    "request_changes": services.proposal_request_changes,
    "confirm": services.proposal_confirm,
    "cancel": services.proposal_cancel,
}

DONE_MESSAGES = {
    "accept": "You accepted “{title}”: {price} is now held in escrow.",
    "reject": "You rejected “{title}”.",
    "withdraw": "You withdrew “{title}”.",
    "start": "Work on “{title}” has started.",
    "deliver": "“{title}” is delivered. The buyer can now confirm it or request changes.",
    "request_changes": "You asked the group for changes to “{title}”.",
    "confirm": "You confirmed “{title}”: the escrow of {price} was released to the group.",
    "cancel": "You cancelled “{title}”: {price} was refunded to the buyer.",
}


# --- proposal cards ------------------------------------------------------------------


def viewer_actions(proposal: Proposal, user) -> list[tuple[str, str, str]]:
    """The card's buttons for `user`: the steps the transition table allows them now."""
    if proposal.is_legacy:
        return []
    allowed = []
    for action, label, style in CARD_ACTIONS:
        transition = transitions.TRANSITIONS[action]
        if proposal.status in transition.sources and transitions.has_role(
            proposal=proposal, role=transition.role, actor=user
        ):
            allowed.append((action, label, style))
    return allowed


def decorate_cards(proposals, user) -> list[Proposal]:
    """Attach what each card shows this viewer: buttons with what each one moves, the
    shares before acceptance, what was actually paid afterwards, the dispute. (The
    countdown is the model's `auto_release_at`.) The money figures of all the cards are
    read at once (`selectors.cards_money`)."""
    proposals = list(proposals)
    money = selectors.cards_money(proposals=proposals, user=user)
    for proposal in proposals:
        conversation = proposal.conversation
        proposal.is_buyer = conversation.product_owner_id == user.pk
        proposal.is_leader = conversation.group.leader_id == user.pk
        proposal.actions = viewer_actions(proposal, user)
        # How far the viewer's button would push the release back; None without a button.
        proposal.extension_days = (
            services.AUTO_RELEASE_MAX_EXTENSION_DAYS
            if services.auto_release_extensible(proposal=proposal, actor=user)
            else None
        )
        proposal.expected = (
            None
            if proposal.is_buyer
            else selectors.expected_member_share(proposal=proposal, user=user)
        )
        proposal.pool_shares = selectors.pool_shares(proposal=proposal)
        proposal.buyer_money = money[proposal.pk].buyer_money
        proposal.paid = money[proposal.pk].paid
        proposal.confirmations = money[proposal.pk].confirmations
        # The latest dispute (the reverse relation: proposals do not import disputes).
        disputes = sorted(proposal.disputes.all(), key=lambda d: (d.created_at, d.pk))
        proposal.dispute = disputes[-1] if disputes else None
        proposal.tasks_visible = proposal.status not in (
            Status.PENDING,
            Status.REJECTED,
            Status.WITHDRAWN,
        )
    return proposals


def _cards(conversation: Conversation, user) -> list[Proposal]:
    proposals = (
        selectors.proposal_list(user=user, conversation_id=conversation.pk)
        .select_related("conversation__group")
        .prefetch_related("disputes")
    )
    return decorate_cards(proposals, user)


def proposal_panel_context(request, conversation: Conversation, *, flashes: bool = True) -> dict:
    """The chat page's proposal part: the cards, and the leader's "new proposal" form
    with what its live breakdown needs (the rates in force and the members in order).
    With `flashes`, it also takes the message and the kept form the last action left."""
    cards = _cards(conversation, request.user)
    is_leader = conversation.group.leader_id == request.user.pk
    has_open = any(card.status in Proposal.OPEN and not card.is_legacy for card in cards)
    can_propose = is_leader and not has_open
    flash = take_flash(request) if flashes else None
    kept = take_form(request, conversation.pk) if flashes else None
    form = ProposalForm(initial=proposal_initial_for(conversation) if can_propose else None)
    if kept is not None and can_propose:
        form = ProposalForm(kept["data"])
        form.is_valid()  # the errors show at their fields, the input kept
    elif kept is not None:
        text = " ".join(kept["errors"])
        flash = {"anchor": "new-proposal", "tag": "error", "alert": True, "text": text}
    for card in cards:
        card.flash = flash if flash and flash["anchor"] == f"proposal-{card.pk}" else None
    rates = Rates.current()
    return {
        "proposals": cards,
        "form_flash": flash if flash and flash["anchor"] == "new-proposal" else None,
        "can_propose": can_propose,
        # The leader's form is away while a proposal is open: say so, not just hide it.
        "proposal_waits": is_leader and has_open,
        "proposal_form": form,
        "rates": rates,
        "rate_percent": {
            "platform": rates.platform_fee * 100,
            "leader": rates.leader_commission * 100,
            "pool": (1 - rates.platform_fee - rates.leader_commission) * 100,
        },
        "member_names": [
            user.username
            for user in marketplace_selectors.group_members(group_id=conversation.group_id)
        ],
        "changes_form": RequestChangesForm(),
    }


@new_workflow_required
@require_GET
def proposal_panel(request, conversation_id):
    """The cards alone, re-fetched by htmx when a proposal or task event arrives. It
    leaves the last action's message to the page that action lands on: the event of
    one's own action can reach the page being left before the browser follows the
    redirect, and would take the message there."""
    conversation = conversation_or_404(request, conversation_id)
    context = {
        "conversation": conversation,
        **proposal_panel_context(request, conversation, flashes=False),
    }
    return render(request, "proposals/_panel.html", context)


def _chat_url(proposal: Proposal) -> str:
    return reverse("chat", args=[proposal.conversation_id]) + f"#proposal-{proposal.pk}"


def _next_or(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@new_workflow_required
@require_POST
def proposal_create(request, conversation_id):
    conversation = conversation_or_404(request, conversation_id)
    form = ProposalForm(request.POST)
    back = reverse("chat", args=[conversation.pk]) + "#new-proposal"
    if not form.is_valid():
        keep_form(request, conversation.pk, request.POST.dict(), _form_errors(form))
        return redirect(back)
    data = form.cleaned_data
    try:
        proposal = services.proposal_create(
            conversation=conversation,
            actor=request.user,
            title=data["title"],
            description=data["description"],
            price=data["price"],
            due_date=data["due_date"],
            pool_split=data["pool_split"] or Proposal.PoolSplit.EQUAL,
        )
    except DomainError as error:
        flash_at(request, "new-proposal", messages.ERROR, friendly_message(error))
        return redirect(back)
    flash_at(
        request,
        f"proposal-{proposal.pk}",
        messages.SUCCESS,
        f"Your proposal “{proposal.title}” for {money_text(proposal.price)} was sent: "
        f"platform fee {money_text(proposal.platform_fee)}, leader commission "
        f"{money_text(proposal.leader_commission)}, member pool "
        f"{money_text(proposal.member_pool)}.",
    )
    return redirect(_chat_url(proposal))


def _form_errors(form: ProposalForm) -> list[str]:
    """The form's errors as sentences, for when the form itself cannot be shown again
    (an open proposal hides it): the price's own message says what it is about."""
    texts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label or field.replace("_", " ").capitalize()
        texts += errors if field == "price" else [f"{label}: {error}" for error in errors]
    return texts


@new_workflow_required
@require_POST
def proposal_action(request, proposal_id, action):
    proposal = found_or_404(selectors.proposal_get, proposal_id=proposal_id, user=request.user)
    if action not in ACTION_SERVICES:
        messages.error(request, "Unknown action.")
        return redirect(_chat_url(proposal))
    target = _next_or(request, _chat_url(proposal))
    anchor = f"proposal-{proposal.pk}"

    def tell(level: int, text: str, **extra) -> None:
        # At the card when going back to it; else where the next page shows messages.
        if target == _chat_url(proposal):
            flash_at(request, anchor, level, text, **extra)
        else:
            messages.add_message(request, level, text)

    kwargs = {}
    if action == "request_changes":
        form = RequestChangesForm(request.POST)
        if not form.is_valid():
            tell(messages.ERROR, "Say what should change before sending the request.")
            return redirect(target)
        kwargs["note"] = form.cleaned_data["note"]
    try:
        proposal = ACTION_SERVICES[action](proposal=proposal, actor=request.user, **kwargs)
    except DomainError as error:
        context = {}
        if error.code == "insufficient_funds":
            context = {
                "available": wallet_get(user=request.user).available_balance,
                "amount": proposal.price,
                "what": "the price",
                "hint": "Add funds to accept.",
            }
        tell(
            messages.ERROR,
            friendly_message(error, **context),
            add_funds=error.code == "insufficient_funds",
        )
    else:
        done = DONE_MESSAGES[action]
        tell(messages.SUCCESS, done.format(title=proposal.title, price=money_text(proposal.price)))
    return redirect(target)


@new_workflow_required
@require_POST
def proposal_extend_auto_release(request, proposal_id):
    """The buyer's button on a delivered card: push the automatic release back by the
    most the service allows, once (the service refuses a second time, a double click
    included)."""
    proposal = found_or_404(selectors.proposal_get, proposal_id=proposal_id, user=request.user)
    days = services.AUTO_RELEASE_MAX_EXTENSION_DAYS
    anchor = f"proposal-{proposal.pk}"
    try:
        proposal = services.proposal_extend_auto_release(
            proposal=proposal, actor=request.user, days=days
        )
    except DomainError as error:
        flash_at(request, anchor, messages.ERROR, friendly_message(error))
    else:
        text = f"You pushed the automatic release of “{proposal.title}” back by {days} days."
        flash_at(request, anchor, messages.SUCCESS, text)
    return redirect(_chat_url(proposal))


# --- the task dashboard ----------------------------------------------------------------

COLUMNS = [
    (Task.Status.TODO, "To do"),
    (Task.Status.IN_PROGRESS, "In progress"),
    (Task.Status.DONE, "Done"),
]


def _board_context(request, proposal: Proposal) -> dict:
    user = request.user
    conversation = proposal.conversation
    is_leader = conversation.group.leader_id == user.pk
    members = marketplace_selectors.group_members(group_id=conversation.group_id)
    writable = not proposal.is_legacy and proposal.status in services.TASKS_WRITABLE
    tasks = list(selectors.task_list(proposal=proposal))
    for task in tasks:
        mine = task.assigned_to_id == user.pk
        task.can_move = writable and (is_leader or mine)
        task.moves = [(status, label) for status, label in COLUMNS if status != task.status]
        task.can_assign = writable and is_leader
        task.assign_form = (
            TaskAssignForm(
                members=members,
                initial={"assignee": task.assigned_to_id},
                prefix=f"task{task.pk}",
            )
            if task.can_assign
            else None
        )
    columns = [
        {"status": status, "label": label, "tasks": [t for t in tasks if t.status == status]}
        for status, label in COLUMNS
    ]
    return {
        "proposal": proposal,
        "conversation": conversation,
        "columns": columns,
        "is_leader": is_leader,
        "is_buyer": conversation.product_owner_id == user.pk,
        "writable": writable,
        "task_form": TaskForm(members=members) if writable and is_leader else None,
    }


def _proposal_for_tasks(request, proposal_id) -> Proposal:
    proposal = found_or_404(selectors.proposal_get, proposal_id=proposal_id, user=request.user)
    return decorate_cards([proposal], request.user)[0]


@new_workflow_required
@require_GET
def task_dashboard(request, proposal_id):
    proposal = _proposal_for_tasks(request, proposal_id)
    return render(request, "proposals/task_dashboard.html", _board_context(request, proposal))


@new_workflow_required
@require_GET
def task_board(request, proposal_id):
    """The columns alone, re-fetched by htmx on `task.updated`."""
    proposal = _proposal_for_tasks(request, proposal_id)
    return render(request, "proposals/_board.html", _board_context(request, proposal))


def _after_task_change(request, proposal: Proposal):
    """htmx posts get the fresh board (flash messages included); plain posts a redirect."""
    if is_htmx(request):
        proposal = _proposal_for_tasks(request, proposal.pk)
        context = {**_board_context(request, proposal), "inline_flashes": True}
        return render(request, "proposals/_board.html", context)
    return redirect("proposals:tasks", proposal_id=proposal.pk)


@new_workflow_required
@require_POST
def task_create(request, proposal_id):
    proposal = found_or_404(selectors.proposal_get, proposal_id=proposal_id, user=request.user)
    members = marketplace_selectors.group_members(group_id=proposal.conversation.group_id)
    form = TaskForm(request.POST, members=members)
    if not form.is_valid():
        messages.error(request, "A task needs a title (and the assignee must be a member).")
        return _after_task_change(request, proposal)
    data = form.cleaned_data
    assignee = None
    if data["assignee"] is not None:
        assignee = next(user for user in members if user.pk == data["assignee"])
    try:
        task = services.task_create(
            proposal=proposal,
            actor=request.user,
            title=data["title"],
            description=data["description"],
            assigned_to=assignee,
            due_date=data["due_date"],
            points=data["points"] or 1,
        )
    except DomainError as error:
        refusal(request, error)
    else:
        who = f", assigned to {assignee.username}" if assignee else ""
        messages.success(request, f"Task “{task.title}” added{who}.")
    return _after_task_change(request, proposal)


@new_workflow_required
@require_POST
def task_move(request, task_id):
    task = found_or_404(selectors.task_get, task_id=task_id, user=request.user)
    form = TaskMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the column to move the task to.")
        return _after_task_change(request, task.proposal)
    try:
        task = services.task_update(
            task=task, actor=request.user, status=form.cleaned_data["status"]
        )
    except DomainError as error:
        refusal(request, error)
    else:
        messages.success(request, f"“{task.title}” moved to {task.get_status_display()}.")
    return _after_task_change(request, task.proposal)


@new_workflow_required
@require_POST
def task_assign(request, task_id):
    task = found_or_404(selectors.task_get, task_id=task_id, user=request.user)
    proposal = Proposal.objects.select_related("conversation__group").get(pk=task.proposal_id)
    members = marketplace_selectors.group_members(group_id=proposal.conversation.group_id)
    form = TaskAssignForm(request.POST, members=members, prefix=f"task{task.pk}")
    if not form.is_valid():
        messages.error(request, "Choose a member of the group.")
        return _after_task_change(request, proposal)
    assignee_id = form.cleaned_data["assignee"]
    assignee = next((user for user in members if user.pk == assignee_id), None)
    try:
        task = services.task_update(task=task, actor=request.user, assigned_to=assignee)
    except DomainError as error:
        refusal(request, error)
    else:
        who = assignee.username if assignee else "nobody"
        messages.success(request, f"“{task.title}” is now assigned to {who}.")
    return _after_task_change(request, proposal)
