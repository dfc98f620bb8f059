"""The site's URLs plus the routes of the operations issue, exactly as they are to be
wired in the project's url modules (see the issue note); the tests run against this."""

from django.contrib import admin
from django.urls import include, path

from disputes.ops_views import metrics_dashboard, metrics_endpoint
from escrow.api_statements import WalletStatementCsvApi, wallet_statement_page
from marketplace.api_common import api_path
from marketplace.urls import urlpatterns as site_urlpatterns
from proposals.api_auto_release import ProposalExtendAutoReleaseApi

urlpatterns = [
    path("admin/metrics/", admin.site.admin_view(metrics_dashboard), name="ops-metrics-dashboard"),
    path("metrics", metrics_endpoint, name="metrics"),
    path("wallet/statement.csv", wallet_statement_page, name="wallet-statement-csv"),
    path(
        "api/",
        include(
            [
                api_path(
                    r"proposals/(?P<proposal_id>[0-9]+)/extend-auto-release",
                    ProposalExtendAutoReleaseApi.as_view(),
                    "api-proposal-extend-auto-release",
                ),
                api_path(
                    r"wallet/statement\.csv",
                    WalletStatementCsvApi.as_view(),
                    "api-wallet-statement-csv",
                ),
            ]
        ),
    ),
    *site_urlpatterns,
]
