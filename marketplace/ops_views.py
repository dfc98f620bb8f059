"""The operators' views of `marketplace.metrics`: the admin dashboard (charts drawn here
as inline SVG: no CDN, no JavaScript; latency per route from `marketplace.route_latency`)
and the Prometheus endpoint `GET /metrics`, which answers staff (session) or
`Authorization: Bearer <METRICS_TOKEN>`; 401 without credentials or with a wrong token,
403 for a signed-in non-staff user."""

import hmac
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from marketplace.core.roles import is_active_staff

from . import metrics
from .route_latency import route_latencies

# --- /metrics -----------------------------------------------------------------------


def _bearer_ok(request) -> bool | None:
    """True/False for a bearer token that matches or not; None when none was sent."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    expected = getattr(settings, "METRICS_TOKEN", "") or ""
    if scheme.lower() != "bearer" or not expected or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics_endpoint(request):
    bearer = _bearer_ok(request)
    user = request.user
    if bearer is None and is_active_staff(user):
        allowed = True
    elif bearer is None and user.is_authenticated:
        return HttpResponse("Staff only.\n", status=403, content_type="text/plain")
    else:
        allowed = bool(bearer)
    if not allowed:
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


# --- inline SVG charts ----------------------------------------------------------------

WIDTH, HEIGHT, PAD = 600, 160, 28


def svg_bars(title: str, days: list[date], values: list, unit: str = "") -> SafeString:
    """A bar chart of one value per day, with a title, the maximum on the axis and a
    tooltip (`<title>`) per bar."""
    numbers = [float(value or 0) for value in values]
    top = max(numbers) if numbers and max(numbers) > 0 else 1.0
    slot = (WIDTH - 2 * PAD) / max(len(numbers), 1)
    bars = []
    for index, (day, value, number) in enumerate(zip(days, values, numbers, strict=True)):
        height = (HEIGHT - 2 * PAD) * number / top
        x = PAD + index * slot
        y = HEIGHT - PAD - height
        label = f"{day:%Y-%m-%d}: {value}{unit}"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="#417690"><title>{escape(label)}</title></rect>'
        )
    top_label = f"{top:g}{unit}" if isinstance(top, float) else f"{top}{unit}"
    first, last = (f"{days[0]:%m-%d}", f"{days[-1]:%m-%d}") if days else ("", "")
    # Every interpolated text is escaped above or here.
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="metrics-chart">'
        f'<text x="{PAD}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        f'stroke="#999"/>'
        f'<text x="{WIDTH - PAD}" y="16" font-size="11" text-anchor="end">'
        f"max {escape(top_label)}</text>"
        f"{''.join(bars)}"
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{first}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
        f"{last}</text></svg>"
    )


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def _milliseconds(seconds) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


def _amounts(values: dict[str, Decimal]) -> str:
    return ", ".join(f"{amount:.2f} {currency}" for currency, amount in sorted(values.items())) or (
        "0.00"
    )


def metrics_dashboard(request):
    """The admin dashboard: every staff user may look."""
    snapshot = metrics.collect()
    days = snapshot.days
    figures = [
        ("Escrow operation success rate (30 d)", _percent(snapshot.success_rate)),
        ("Failed escrow operations (30 d)", snapshot.operations_failed),
        (
            "Ledger balance accuracy",
            "clean"
            if snapshot.ledger_clean
            else f"{snapshot.ledger_problems} problem(s): run manage.py reconcile",
        ),
        ("Proposals created per day (30 d)", f"{snapshot.creation_rate_per_day:.2f}"),
        ("Acceptance rate (30 d)", _percent(snapshot.acceptance_rate)),
        ("Dispute rate (30 d)", _percent(snapshot.dispute_rate)),
        ("Average time to completion (30 d)", _duration(snapshot.completion_seconds_avg)),
        ("Escrow locked now", _amounts(snapshot.escrow_locked)),
        ("Funds distributed (30 d)", _amounts(snapshot.flow_window("funds_distributed"))),
        ("Platform fees collected (30 d)", _amounts(snapshot.flow_window("platform_fees"))),
        ("Refunds (30 d)", _amounts(snapshot.flow_window("refunds"))),
        ("Disputes open now", snapshot.disputes_open_now),
    ]
    charts = [
        svg_bars("Proposals created", days, [snapshot.proposals_created[d] for d in days]),
        svg_bars("Proposals accepted", days, [snapshot.proposals_accepted[d] for d in days]),
        svg_bars("Disputes opened", days, [snapshot.disputes_opened[d] for d in days]),
        svg_bars(
            "Escrow operations refused or failed",
            days,
            [snapshot.operations["refused"][d] + snapshot.operations["error"][d] for d in days],
        ),
    ]
    for flow, title in (
        ("platform_fees", "Platform fees"),
        ("funds_distributed", "Funds distributed"),
        ("refunds", "Refunds"),
    ):
        for currency, per_day in sorted(snapshot.flows[flow].items()):
            charts.append(
                svg_bars(f"{title} ({currency})", days, [per_day[d] for d in days], f" {currency}")
            )
    context = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        "figures": [(label, format_html("{}", value)) for label, value in figures],
        "charts": charts,
        "routes": [
            (
                row.method,
                row.route,
                row.requests,
                row.server_errors,
                _milliseconds(row.p50),
                _milliseconds(row.p99),
            )
            for row in route_latencies()
        ],
        "snapshot": snapshot,
    }
    return TemplateResponse(request, "admin/metrics_dashboard.html", context)
