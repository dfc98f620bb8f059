"""Is the new workflow on for this user? One answer for pages, API and websockets.

The flag is django-waffle's, managed in the admin, with one addition: marketplace groups
(`FlagGroup`), whose members get the flag. Waffle decides percentages per browser
cookie; here a user's bucket is a stable hash of the flag and the user id instead, so a
user gets the same answer on every device, in the pages and through the API.
"""

import hashlib
from decimal import Decimal

from django.conf import settings
from rest_framework.permissions import BasePermission
from waffle import get_waffle_flag_model

from .errors import Forbidden
from .models import FlagGroup

NEW_WORKFLOW = "new_workflow"


def _bucket(flag_name: str, user_id: int) -> Decimal:
    """A number in [0, 100) that never changes for this flag and user."""
    digest = hashlib.sha256(f"{flag_name}:{user_id}".encode()).hexdigest()
    return Decimal(int(digest[:8], 16) % 1000) / 10


def flag_active_for(user, flag_name: str = NEW_WORKFLOW) -> bool:
    flag = get_waffle_flag_model().get(flag_name)
    if not flag.pk:
        return settings.WAFFLE_FLAG_DEFAULT
    if flag.everyone is not None:
        return flag.everyone
    if not getattr(user, "is_authenticated", False):
        return False
    if flag.is_active_for_user(user):
        return True
    if FlagGroup.objects.filter(flag=flag, group__memberships__user_id=user.pk).exists():
        return True
    return bool(flag.percent) and _bucket(flag_name, user.pk) < flag.percent


def require_new_workflow(user) -> None:
    if not flag_active_for(user):
        raise Forbidden(
            "The new proposal workflow is not enabled for your account yet: "
            "use projects and orders (/api/projects) meanwhile.",
            code="new_workflow_disabled",
        )


class NewWorkflowEnabled(BasePermission):
    """DRF permission for the new workflow's endpoints: 403 `new_workflow_disabled`."""

    def has_permission(self, request, view) -> bool:
        if request.user and request.user.is_authenticated:
            require_new_workflow(request.user)
        return True
