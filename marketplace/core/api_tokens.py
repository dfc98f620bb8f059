"""API tokens: `Authorization: Token <key>`, issued by `POST /api/auth/token`.

The tokens are django-rest-knox's: the database keeps each token's SHA-512 digest and its
first 15 characters (to find the row), never the token itself, so neither a database dump
nor anything the admin shows can be used as a credential. The key is shown once, when
it is issued. Every token expires `API_TOKEN_TTL_DAYS` after it was issued (no sliding
renewal: the client signs in again), and a user keeps at most `API_TOKENS_PER_USER`
live tokens, the oldest dropped first.

The REST API (`ApiTokenAuthentication`) and the websocket handshake (`user_for_key`)
verify a key the same way, expiry included.

A token ends by deleting its row (so `post_delete` fires for each, and whoever holds a
connection opened with it can close it): `DELETE /api/auth/token` (`token_revoke`), a
password change (every token of the user), expiry, the cap above, or the admin.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.db.models.signals import pre_save
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.models import get_token_model
from knox.signals import token_expired
from rest_framework import exceptions


class ApiTokenAuthentication(TokenAuthentication):
    """Knox's token check (digest compare, expired tokens refused and deleted, inactive
    users refused), which answers a key that is not UTF-8 with 401 instead of a 500, and
    takes one query per request, as DRF's tokens did."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token) -> bool:
        """Refuses (and deletes) this token once expired. Knox's own version also sweeps
        the user's other expired tokens on every request, a query each time; signing in
        does that here (`token_issue`). Should knox stop calling this hook, its sweep
        comes back: a query more, the same answers."""
        if auth_token.expiry is None or auth_token.expiry > timezone.now():
            return False
        auth_token.delete()
        token_expired.send(
            sender=type(self), username=auth_token.user.get_username(), source="auth_token"
        )
        return True


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme keeps its name and shape: `Authorization: Token …`."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )


def token_issue(user) -> str:
    """A new API token for `user`; the returned key is stored nowhere (only its digest).

    Drops the user's expired tokens and, to stay within `API_TOKENS_PER_USER`, its oldest
    live ones. Call inside a transaction: the user's row is locked so that concurrent
    sign-ins cannot exceed the cap."""
    AuthToken = get_token_model()
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    tokens = AuthToken.objects.filter(user=user)
    tokens.filter(expiry__lte=timezone.now()).delete()
    keep = max(settings.API_TOKENS_PER_USER - 1, 0)
    newest = tokens.order_by("-created").values_list("pk", flat=True)[:keep]
    tokens.exclude(pk__in=list(newest)).delete()
    _, key = AuthToken.objects.create(user=user)
    return key


def user_for_key(key: str):
    """The active user whose unexpired token this is, else None."""
    try:
        user, _ = ApiTokenAuthentication().authenticate_credentials(key.encode("utf-8"))
    except exceptions.AuthenticationFailed:
        return None
    return user


def token_revoke(*, token) -> None:
    """Ends one token (the one a client presents to sign out)."""
    token.delete()


def tokens_revoke_all(*, user) -> int:
    """Ends every token of `user`; returns how many there were. A queryset delete still
    sends `post_delete` for each row whenever a receiver listens for it."""
    deleted, _ = get_token_model().objects.filter(user=user).delete()
    return deleted


def _revoke_tokens_when_the_password_changes(sender, instance, update_fields=None, **kwargs):
    """Every API token of a user ends when their password changes, wherever it changes
    (the password page, the admin, `changepassword`). Their other sessions end by
    themselves: Django checks each session against the password hash. A new hash of the
    same password (Django upgrading its hasher at sign-in) ends nothing."""
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is None or stored == instance.password:
        return
    # Django keeps the new raw password on the instance until it is saved.
    raw = getattr(instance, "_password", None)
    if raw is not None and check_password(raw, stored):
        return
    tokens_revoke_all(user=instance)


def connect_password_change_revocation() -> None:
    """Called in `MarketplaceConfig.ready()`, so every process (web, admin, management
    commands) revokes the tokens of the passwords it changes."""
    pre_save.connect(
        _revoke_tokens_when_the_password_changes,
        sender=settings.AUTH_USER_MODEL,
        dispatch_uid="tokens-end-with-password",
    )
