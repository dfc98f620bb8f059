"""Who the client is (its address, behind the load balancer) and how often it may try to
sign in or sign up.

- `client_address` is the one reader of the client's address: the API's throttles, the
  pages' sign-in rate and django-axes' lockouts all call it.
- Every sign-in and registration request (page login, admin login, page signup, API
  token and API register) counts against one per-address rate, `API_THROTTLE_AUTH`.
- Failed sign-ins are counted by django-axes per account and per address
  (`LOGIN_FAILURE_LIMIT`, `LOGIN_LOCKOUT_MINUTES`): it hooks into `authenticate()`, so
  the page, the admin and the API token endpoint are covered alike, and it counts only
  failures, so a user signing in from many devices is never locked out by success.
"""

import ipaddress

from django.conf import settings
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin
from rest_framework.throttling import SimpleRateThrottle

from .names import normalize

# The pages whose POSTs sign in or sign up (URL names, as resolved).
SIGN_IN_PAGES = frozenset({"login", "signup", "admin:login"})


def client_address(request) -> str:
    """The client's address as the outermost of `TRUSTED_PROXY_COUNT` proxies saw it:
    the entry that many places from the right of X-Forwarded-For (what the client itself
    put there sits further left and is ignored). With no proxy, or a header shorter than
    the proxies we trust (a request that did not come through them), the peer's address."""
    peer = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(hops) < proxies:
        return peer
    try:
        return str(ipaddress.ip_address(hops[-proxies]))
    except ValueError:
        return peer


def sign_in_account(request, credentials) -> str:
    """The account a sign-in attempt names, for django-axes: NFKC and case-folded, so
    `ALICE`, `Alice` and a fullwidth `ALICE` share one count of failures."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return normalize(username).casefold()


class SignInRateThrottle(SimpleRateThrottle):
    """`API_THROTTLE_AUTH` per client address, shared by every sign-in and sign-up
    surface (the API's views and `SignInRateMiddleware`)."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def _retry_after(seconds: float) -> str:
    return str(max(int(seconds + 0.999), 1))


class SignInRateMiddleware(MiddlewareMixin):
    """Applies `SignInRateThrottle` to the POSTs of the sign-in and sign-up pages (the
    API's views apply it themselves): over the rate, a 429 page says when to try again.
    (MiddlewareMixin: sync and async capable, so it costs ASGI no thread switch.)"""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.resolver_match.view_name not in SIGN_IN_PAGES:
            return None
        throttle = SignInRateThrottle()
        if throttle.allow_request(request, None):
            return None
        return _too_many_attempts_page(request, throttle.wait())


def _too_many_attempts_page(request, seconds: float, *, account_locked: bool = False):
    retry_after = _retry_after(seconds)
    response = render(
        request,
        "registration/too_many_attempts.html",
        {"minutes": max(int(retry_after) // 60, 1), "account_locked": account_locked},
        status=429,
    )
    response["Retry-After"] = retry_after
    return response


def locked_out_response(request, original_response=None, credentials=None):
    """django-axes' answer on the pages once an account or an address has failed too
    often: 429 with Retry-After and a page saying when to try again. (The API token view
    answers its own 429, `marketplace.core.accounts.SignInLocked`.)"""
    return _too_many_attempts_page(
        request, settings.AXES_COOLOFF_TIME.total_seconds(), account_locked=True
    )
