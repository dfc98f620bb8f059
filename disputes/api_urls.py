"""Dispute API routes, under /api/. Every trailing slash is optional."""

from marketplace.core.api_common import api_path

from .api import (
    DisputeDetailApi,
    DisputeMessageCreateApi,
    DisputeOpenAliasApi,
    DisputeOpenApi,
    DisputeResolveApi,
)

DISPUTE = r"disputes/(?P<dispute_id>[0-9]+)"

urlpatterns = [
    api_path("disputes", DisputeOpenAliasApi.as_view(), "api-disputes"),
    api_path("disputes/create", DisputeOpenApi.as_view(), "api-dispute-create"),
    api_path(DISPUTE, DisputeDetailApi.as_view(), "api-dispute"),
    api_path(f"{DISPUTE}/messages", DisputeMessageCreateApi.as_view(), "api-dispute-messages"),
    api_path(f"{DISPUTE}/resolve", DisputeResolveApi.as_view(), "api-dispute-resolve"),
]
