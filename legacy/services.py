"""Writes of the old project/order system, kept working for clients that have not moved
to proposals yet. Orders record what a buyer asked for; as in the old system, no money
moves through them (that is what proposals and escrow are for)."""

from django.db import transaction
from django.utils import timezone
from djmoney.money import Money

from marketplace.core import services as core_services
from marketplace.core.errors import Conflict, NotFound
from marketplace.core.formats import amount_text, money_text
from marketplace.core.models import Conversation, Group
from marketplace.core.notifications import Kind, notify

from .models import Order, Project


@transaction.atomic
def project_create(*, owner, title: str, description: str, budget: Money) -> Project:
    return Project.objects.create(owner=owner, title=title, description=description, budget=budget)


@transaction.atomic
def order_create(*, buyer, project_id: int, amount: Money) -> Order:
    """The owner of a project places an order on it."""
    project = Project.objects.select_for_update().filter(pk=project_id, owner=buyer).first()
    if project is None:
        raise NotFound("No such project.")
    if project.status != "open":
        raise Conflict(
            f"The project is {project.status}: it takes no orders.", code="project_closed"
        )
    if str(amount.currency) != str(project.budget.currency):
        raise Conflict(
            f"The project's budget is in {project.budget.currency}, not {amount.currency}.",
            code="currency_mismatch",
        )
    return Order.objects.create(project=project, buyer=buyer, amount=amount)


@transaction.atomic
def project_continue(*, project: Project, actor, group: Group) -> Conversation:
    """The project's owner continues it with `group` in the new flow: the owner's
    conversation with the group (opened or reused) gets a system message carrying the old
    terms, the group's leader is told, and the project becomes `continued`."""
    locked = Project.objects.select_for_update().filter(pk=project.pk, owner=actor).first()
    if locked is None:
        raise NotFound("No such project.")
    if locked.status == Project.CONTINUED:
        raise Conflict("This project was already continued.", code="already_continued")
    conversation, _ = core_services.conversation_open(buyer=actor, group=group)
    core_services.message_create(
        conversation=conversation,
        sender=None,
        body=_continued_message(locked),
        metadata={
            "type": "legacy_project",
            "legacy_project_id": locked.pk,
            "title": locked.title,
            "description": locked.description,
            "budget": amount_text(locked.budget),
            "currency": str(locked.budget.currency),
        },
    )
    notify(
        user=group.leader,
        kind=Kind.LEGACY_PROJECT_CONTINUED,
        title=f"{actor.username} continues “{locked.title}” with {group.name}",
        body=f"Budget {money_text(locked.budget)}. Your proposal form starts from its terms.",
        link=f"/conversations/{conversation.pk}/",
        data={"conversation_id": conversation.pk, "legacy_project_id": locked.pk},
    )
    locked.status = Project.CONTINUED
    locked.continued_conversation = conversation
    locked.continued_at = timezone.now()
    locked.save(update_fields=["status", "continued_conversation", "continued_at"])
    return conversation


def _continued_message(project: Project) -> str:
    text = (
        f"Continued from the legacy project “{project.title}”, budget {money_text(project.budget)}."
    )
    return f"{text}\n{project.description}" if project.description else text
