from django.db.models import Exists, OuterRef, QuerySet

from marketplace.core.formats import amount_text
from proposals.models import Proposal

from .models import Project


def project_list(*, owner) -> QuerySet[Project]:
    return Project.objects.filter(owner=owner).order_by("-created_at", "-id")


def continued_project_for(conversation) -> Project | None:
    """The legacy project last continued into `conversation`, while no proposal was made
    there since: the terms the leader's first proposal starts from."""
    proposed_since = Proposal.objects.filter(
        conversation_id=conversation.pk, created_at__gte=OuterRef("continued_at")
    )
    return (
        Project.objects.filter(continued_conversation_id=conversation.pk)
        .exclude(Exists(proposed_since))
        .order_by("-continued_at", "-id")
        .first()
    )


def proposal_initial_for(conversation) -> dict:
    """The new-proposal form's initial values: the continued project's terms, if any."""
    project = continued_project_for(conversation)
    if project is None:
        return {}
    return {
        "title": project.title,
        "description": project.description,
        "price": amount_text(project.budget),
        "currency": str(project.budget.currency),
    }
