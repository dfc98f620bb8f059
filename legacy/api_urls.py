"""The deprecated project/order routes, under /api/. Every trailing slash is optional."""

from marketplace.core.api_common import api_path

from .api import OrderCreateApi, ProjectContinueApi, ProjectCreateApi, ProjectListApi

urlpatterns = [
    api_path("projects", ProjectListApi.as_view(), name="projects"),
    api_path("projects/create", ProjectCreateApi.as_view(), name="project-create"),
    api_path("orders/create", OrderCreateApi.as_view(), name="order-create"),
    api_path(
        r"legacy/projects/(?P<project_id>[0-9]+)/continue",
        ProjectContinueApi.as_view(),
        name="project-continue",
    ),
]
