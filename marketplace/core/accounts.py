"""Account use cases: registering and signing in for an API token.

Usernames are normalised (NFKC) and refused when they mix scripts or look like an
existing one (`marketplace.core.names`); the same rule guards the admin's user forms
(`User.clean`). Signing in goes through `authenticate()` with the request, so django-axes
counts the failures per account and per client address (`marketplace.core.throttling`).
"""

from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction

from .api_tokens import token_issue
from .errors import DomainError, InvalidInput
from .names import normalize
from .signals import user_registered

User = get_user_model()


class SignInLocked(DomainError):
    """Too many failed sign-ins for this account or from this address (django-axes)."""

    code = "throttled"
    status = 429


def username_refusal(username: str) -> str | None:
    """Why nobody may register `username` now (it mixes scripts, or it is an existing
    username in any case or by look), or None."""
    return User(username=normalize(username)).username_refusal()


@transaction.atomic
def user_register(*, username: str, email: str, password: str):
    """Create an account and its (empty) wallet. The password has been checked against
    the validators by the caller; the username is stored NFKC-normalised."""
    username = normalize(username)
    if refusal := username_refusal(username):
        raise InvalidInput(refusal, code="username_taken", fields={"username": [refusal]})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        # A concurrent registration took the name between the check and the insert.
        refusal = "This username is taken."
        raise InvalidInput(refusal, code="username_taken", fields={"username": [refusal]}) from None
    user_registered.send(sender=User, user=user)
    return user


@transaction.atomic
def auth_token_obtain(*, request, username: str, password: str) -> str:
    """A new API token (its key) for the user with these credentials. Only its digest is
    stored, so it is shown this once; it expires after `API_TOKEN_TTL_DAYS`. `request`
    is the sign-in's, for django-axes to count a failure against the account and the
    client address."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise SignInLocked("Too many failed sign-ins for this account or from this address.")
        raise InvalidInput(
            "Unable to log in with the given username and password.",
            code="invalid_credentials",
        )
    return token_issue(user)
