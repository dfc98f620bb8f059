from django.db.models import QuerySet

from .models import Project


def project_list(*, owner) -> QuerySet[Project]:
    return Project.objects.filter(owner=owner).order_by("-created_at", "-id")
