from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from disputes.ops_views import metrics_dashboard, metrics_endpoint

# Each app owns its API routes in `<app>/api_urls.py` and its pages in `<app>/urls.py`.
api_patterns = [
    path("", include("marketplace.api_urls")),
    path("", include("escrow.api_urls")),
    path("", include("proposals.api_urls")),
    path("", include("disputes.api_urls")),
    path("", include("legacy.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    # Before the admin's own routes: the admin index links to it by this name.
    path("admin/metrics/", admin.site.admin_view(metrics_dashboard), name="ops-metrics-dashboard"),
    path("admin/", admin.site.urls),
    path("metrics", metrics_endpoint, name="metrics"),
    path("api/", include(api_patterns)),
    path("", include("marketplace.urls_pages")),
]

handler400 = "marketplace.api_errors.bad_request"
handler404 = "marketplace.api_errors.not_found"
