from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views
from .ops_views import metrics_dashboard, metrics_endpoint

# Each app owns its API routes in `<app>/api_urls.py` and its pages in `<app>/urls.py`;
# this is the one place that looks at every app.
api_patterns = [
    path("", include("marketplace.core.api_urls")),
    path("", include("escrow.api_urls")),
    path("", include("proposals.api_urls")),
    path("", include("disputes.api_urls")),
    path("", include("legacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Its script from its own URL (`?script`), not inline: the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    # Before the admin's own routes: the admin index links to it by this name.
    path("admin/metrics/", admin.site.admin_view(metrics_dashboard), name="ops-metrics-dashboard"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_endpoint, name="metrics"),
    path("api/", include(api_patterns)),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("marketplace.core.urls")),
    path("", include("proposals.urls")),
    path("", include("disputes.urls")),
    path("", include("escrow.urls")),
    path("", include("legacy.urls")),
]

handler400 = "marketplace.core.api_errors.bad_request"
handler403 = "marketplace.core.api_errors.permission_denied"
handler404 = "marketplace.core.api_errors.not_found"
handler500 = "marketplace.core.api_errors.server_error"
