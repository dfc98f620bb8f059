"""What every app's pages share: login and rollout guards, htmx detection, reading an
object or answering 404, and turning a `DomainError` into a flash message in words a
person understands (one table of friendly messages for the whole site)."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse_lazy
from django_htmx.middleware import HtmxDetails

from . import selectors
from .errors import DomainError, NotFound
from .formats import money_text
from .models import Conversation
from .rollout import flag_active_for


def page_login_required(view):
    """`login_required`, sending strangers to this site's own login page."""
    return login_required(view, login_url=reverse_lazy("login"))


def is_htmx(request) -> bool:
    """An htmx request (django-htmx's middleware sets `request.htmx`; without it, read the
    same header through django-htmx's own parser)."""
    details = getattr(request, "htmx", None)
    if details is None:
        details = HtmxDetails(request)
    return bool(details)


WORKFLOW_DISABLED = (
    "Proposals, tasks and disputes are not enabled for your account yet. Meanwhile, "
    "use legacy projects and orders."
)


def new_workflow_required(view):
    """Pages of the new workflow (proposals, tasks, disputes): a user for whom the rollout
    flag is off gets 403 and a page explaining why, pointing to the legacy flow."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not flag_active_for(request.user):
            return render(
                request, "workflow_disabled.html", {"reason": WORKFLOW_DISABLED}, status=403
            )
        return view(request, *args, **kwargs)

    return page_login_required(wrapper)


def _insufficient_funds(error, context) -> str:
    available = context.get("available")
    amount = context.get("amount")
    if available is None or amount is None:
        return "Your available balance is too low for this. Add funds to your wallet first."
    what = context.get("what", "the amount")
    hint = context.get("hint", "Add funds first.")
    return (
        f"Your available balance, {money_text(available)}, is below {what} of "
        f"{money_text(amount)}. {hint}"
    )


# Every refusal a page can meet, by the domain error's code, in words a person
# understands. A string may use the error's own `{message}`; a function gets the error and
# the context the view passed (amounts, names). Codes not listed show the service's own
# message, which is written for people too.
FRIENDLY_MESSAGES = {
    "insufficient_funds": _insufficient_funds,
    "invalid_transition": "That step is not possible any more: {message} "
    "The page now shows the current state.",
    "proposal_open": "This conversation already has an open proposal. It must be finished, "
    "withdrawn or rejected before a new one can be sent.",
    "permission_denied": "You are not allowed to do that. {message}",
    "new_workflow_disabled": WORKFLOW_DISABLED,
    "leader_cannot_leave": "You lead this group, so you cannot leave it yet. Hand the "
    "leadership to another member first, then leave.",
    "escrow_active": "This group cannot be deleted while one of its deals holds the buyer's "
    "money in escrow. Finish that deal first: the buyer confirms it, you cancel it, or staff "
    "resolve its dispute.",
    "group_has_history": "Money has moved through this group, and its payment history must "
    "be kept, so the group cannot be deleted.",
    "already_member": "{message}",
    "not_a_member": "{message} Only members of the group can be given tasks.",
    "new_leader_not_member": "The new leader must be a member of the group.",
    "own_group": "You belong to this group, so you cannot hire it: open a conversation "
    "with another group.",
    "payments_disabled": "Deposits are switched off on this site: no payment provider is enabled.",
    "invalid_currency": "{message}",
    "blank_message": "Write something before sending.",
    "invalid_title": "Give it a title of 1 to 200 characters.",
    "dispute_open": "This proposal already has an open dispute: add your evidence there.",
    "dispute_closed": "This dispute is resolved: nothing can be added any more.",
    "idempotency_key_reused": "This form was already sent once: reload the page and try again.",
    "escrow_not_held": "There is no money in escrow for this any more.",
    "username_taken": "{message} Choose another username.",
    "project_closed": "{message}",
    "not_found": "That no longer exists, or you cannot see it.",
}


def friendly_message(error: DomainError, **context) -> str:
    friendly = FRIENDLY_MESSAGES.get(error.code)
    if friendly is None:
        return error.message
    if callable(friendly):
        return friendly(error, context)
    return friendly.format(message=error.message)


def refusal(request, error: DomainError, **context) -> None:
    """Show the refusal as a flash message."""
    messages.error(request, friendly_message(error, **context))


def found_or_404(read, **kwargs):
    """Call a selector; its `NotFound` (absent or not visible to you) becomes a 404 page."""
    try:
        return read(**kwargs)
    except NotFound as error:
        raise Http404(error.message) from None


def conversation_or_404(request, conversation_id) -> Conversation:
    conversation = found_or_404(
        selectors.conversation_get, conversation_id=conversation_id, user=request.user
    )
    return Conversation.objects.select_related("group__leader", "product_owner").get(
        pk=conversation.pk
    )
