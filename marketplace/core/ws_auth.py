"""Who is on the other end of a websocket.

Browsers authenticate with their session cookie, and since a cookie rides along on any
page's request, a cookie-authenticated socket must come from one of our origins. API
clients send `Authorization: Token <key>` on the handshake (never a token in the URL);
they are not exposed to cross-site requests, so they may omit the Origin header. The key
is checked exactly as the REST API checks it (`marketplace.core.api_tokens`: against the stored
digest, refused once expired or for an inactive user).
"""

from urllib.parse import urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host

from .api_tokens import user_for_key


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


@database_sync_to_async
def _user_for_token(key: str):
    return user_for_key(key) or AnonymousUser()


def origin_allowed(origin: str | None) -> bool:
    """The Origin names one of our hosts (ALLOWED_HOSTS) or a trusted origin."""
    if not origin:
        return False
    netloc = urlparse(origin).netloc.lower()
    if netloc in {urlparse(trusted).netloc for trusted in settings.CSRF_TRUSTED_ORIGINS}:
        return True
    domain, _port = split_domain_port(netloc)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class TokenOrSessionAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` from the Token header, else from the session cookie (only for
    an allowed Origin), else AnonymousUser; and `scope["auth_method"]`."""

    def __init__(self, inner):
        super().__init__(inner)
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        authorization = _header(scope, b"authorization") or ""
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() == "token" and key.strip():
            scope = dict(scope, user=await _user_for_token(key.strip()), auth_method="token")
            return await self.inner(scope, receive, send)
        if origin_allowed(_header(scope, b"origin")):
            return await self.session_stack(dict(scope, auth_method="session"), receive, send)
        scope = dict(scope, user=AnonymousUser(), auth_method="none")
        return await self.inner(scope, receive, send)
