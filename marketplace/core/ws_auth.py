"""Who is on the other end of a websocket.

Browsers authenticate with their session cookie, and since a cookie rides along on any
page's request, a cookie-authenticated socket must come from one of our origins: the
`Origin` header must name, scheme, host and port exactly, either the socket's own address
(`https://` + the `Host` header for a secure socket, `http://` + it otherwise; the host
must be in `ALLOWED_HOSTS`), or one of `CSRF_TRUSTED_ORIGINS` (where `https://*.example.com`
stands for the subdomains of example.com, as for Django's CSRF check). API clients send
`Authorization: Token <key>` on the handshake (never a token in the URL); they are not
exposed to cross-site requests, so they may omit the Origin header. The key is checked
exactly as the REST API checks it (`marketplace.core.api_tokens`: against the stored
digest, refused once expired or for an inactive user); the socket remembers which token
it was, so that revoking the token closes it (`marketplace.core.token_sockets`).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain
from rest_framework import exceptions

from .api_tokens import ApiTokenAuthentication

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


@dataclass(frozen=True)
class SocketToken:
    """The API token a socket was opened with: its digest (the row's key) and expiry."""

    digest: str
    expiry: datetime | None


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


@database_sync_to_async
def _token_login(key: str):
    """(user, SocketToken) for a valid key, else (AnonymousUser, None)."""
    try:
        user, token = ApiTokenAuthentication().authenticate_credentials(key.encode("utf-8"))
    except exceptions.AuthenticationFailed:
        return AnonymousUser(), None
    return user, SocketToken(digest=token.digest, expiry=token.expiry)


def _origin(url: str) -> Origin | None:
    """An http(s) origin's scheme, host and port, the default port filled in."""
    try:
        parts = urlsplit(url.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme])


def _socket_is_secure(scope) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if not proxy_header:
        return False
    # Django's META name (HTTP_X_FORWARDED_PROTO) back to the header's name.
    name = proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
    return _header(scope, name) == proxy_header[1]


def _own_origin(scope) -> Origin | None:
    """The origin of the pages this socket's host serves, if the host is one of ours."""
    host = (_header(scope, b"host") or "").lower()
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    return _origin(f"{'https' if _socket_is_secure(scope) else 'http'}://{host}")


def _trusted(origin: Origin, pattern: str) -> bool:
    """`origin` is the CSRF_TRUSTED_ORIGINS entry `pattern` (`https://*.example.com`:
    example.com or a subdomain, on the same scheme and port)."""
    scheme, _, rest = pattern.lower().partition("://")
    if not rest.startswith("*."):
        return origin == _origin(pattern)
    parent = _origin(f"{scheme}://{rest.removeprefix('*.')}")
    return (
        parent is not None
        and (origin.scheme, origin.port) == (parent.scheme, parent.port)
        and is_same_domain(origin.host, f".{parent.host}")
    )


def origin_allowed(scope) -> bool:
    """The handshake's Origin is the socket's own origin or a trusted one, exactly."""
    origin = _origin(_header(scope, b"origin") or "")
    if origin is None:
        return False
    if origin == _own_origin(scope):
        return True
    return any(_trusted(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS)


class TokenOrSessionAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` from the Token header, else from the session cookie (only for
    an allowed Origin), else AnonymousUser; `scope["auth_method"]`, and for a token
    `scope["api_token"]` (a `SocketToken`)."""

    def __init__(self, inner):
        super().__init__(inner)
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        authorization = _header(scope, b"authorization") or ""
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() == "token" and key.strip():
            user, token = await _token_login(key.strip())
            scope = dict(scope, user=user, auth_method="token", api_token=token)
            return await self.inner(scope, receive, send)
        if origin_allowed(scope):
            return await self.session_stack(dict(scope, auth_method="session"), receive, send)
        scope = dict(scope, user=AnonymousUser(), auth_method="none")
        return await self.inner(scope, receive, send)
