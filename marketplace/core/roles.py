"""Staff powers: who may act as staff, decided here once.

A staff power comes from a role (a Django auth group holding the permission, see
`disputes/migrations/0003_staff_roles.py`), never from `is_staff` alone: a staff user
without the role sees the admin and nothing more. The services call `require_staff_power`
before they validate anything, so the API, the pages, the admin and the jobs all get
the same answer.
"""

from .errors import Forbidden


def is_active_staff(user) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


def has_staff_power(user, permission: str) -> bool:
    """An active staff user whose role grants `permission` (superusers have them all)."""
    return is_active_staff(user) and user.has_perm(permission)


def require_staff_power(user, permission: str, *, doing: str, party: bool = False) -> None:
    """Refuse (403) unless `user` holds the staff power; `party` says whether the user
    takes part in the case at hand (its buyer, its group, its wallet), which no staff
    power covers: nobody judges or pays their own case."""
    if not has_staff_power(user, permission):
        raise Forbidden(f"Your staff role does not allow you to {doing}.")
    if party:
        raise Forbidden(f"You take part in this case, so you cannot {doing}.")
