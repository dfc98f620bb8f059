from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("marketplace.urls_pages")),
]
