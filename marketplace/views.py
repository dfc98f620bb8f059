"""The project's own pages: the home page (what the product is, for a buyer and for a
group, with the newest groups to browse) and the health check the load balancer asks."""

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from marketplace.core import selectors

# A health check must answer quickly even when a dependency hangs.
REDIS_TIMEOUT_SECONDS = 1.0
NEWEST_GROUPS_SHOWN = 3


@require_GET
def home(request):
    context = {
        "newest_groups": selectors.group_list()[:NEWEST_GROUPS_SHOWN],
        "platform_fee_percent": settings.PLATFORM_FEE_RATE * 100,
        "leader_commission_percent": settings.LEADER_COMMISSION_RATE * 100,
        "member_pool_percent": 100
        - (settings.PLATFORM_FEE_RATE + settings.LEADER_COMMISSION_RATE) * 100,
    }
    return render(request, "home.html", context)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return f"error: {type(error).__name__}"
    return "ok"


def _redis_status() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return f"error: {type(error).__name__}"
    finally:
        client.close()
    return "ok"


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers (and Redis, when configured); 503 naming the failure."""
    checks = {"database": _database_status(), "redis": _redis_status()}
    healthy = all(value in {"ok", "not configured"} for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )
