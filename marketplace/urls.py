from django.contrib import admin
from django.urls import include, path

# Each app owns its API routes in `<app>/api_urls.py` and its pages in `<app>/urls.py`.
api_patterns = [
    path("", include("marketplace.api_urls")),
    path("", include("escrow.api_urls")),
    path("", include("proposals.api_urls")),
    path("", include("disputes.api_urls")),
    path("", include("legacy.api_urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("marketplace.urls_pages")),
]
