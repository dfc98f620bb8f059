"""Writes of the old project/order system, kept working for clients that have not moved
to proposals yet. Orders record what a buyer asked for; as in the old system, no money
moves through them (that is what proposals and escrow are for)."""

from django.db import transaction
from djmoney.money import Money

from marketplace.core.errors import Conflict, NotFound

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
