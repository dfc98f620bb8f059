"""Proposal and task API routes, under /api/. Every trailing slash is optional."""

from marketplace.core.api_common import api_path

from .api import (
    ProposalAcceptApi,
    ProposalCancelApi,
    ProposalConfirmApi,
    ProposalCreateApi,
    ProposalDeliverApi,
    ProposalDetailApi,
    ProposalExtendAutoReleaseApi,
    ProposalListCreateApi,
    ProposalRejectApi,
    ProposalRequestChangesApi,
    ProposalStartApi,
    ProposalWithdrawApi,
    TaskCreateApi,
    TaskDetailApi,
    TaskListCreateApi,
)

PROPOSAL = r"proposals/(?P<proposal_id>[0-9]+)"

urlpatterns = [
    api_path("proposals", ProposalListCreateApi.as_view(), "api-proposals"),
    api_path("proposals/create", ProposalCreateApi.as_view(), "api-proposal-create"),
    api_path(PROPOSAL, ProposalDetailApi.as_view(), "api-proposal"),
    api_path(f"{PROPOSAL}/accept", ProposalAcceptApi.as_view(), "api-proposal-accept"),
    api_path(f"{PROPOSAL}/reject", ProposalRejectApi.as_view(), "api-proposal-reject"),
    api_path(f"{PROPOSAL}/withdraw", ProposalWithdrawApi.as_view(), "api-proposal-withdraw"),
    api_path(f"{PROPOSAL}/start", ProposalStartApi.as_view(), "api-proposal-start"),
    api_path(f"{PROPOSAL}/deliver", ProposalDeliverApi.as_view(), "api-proposal-deliver"),
    api_path(
        f"{PROPOSAL}/request-changes",
        ProposalRequestChangesApi.as_view(),
        "api-proposal-request-changes",
    ),
    api_path(f"{PROPOSAL}/confirm", ProposalConfirmApi.as_view(), "api-proposal-confirm"),
    api_path(f"{PROPOSAL}/cancel", ProposalCancelApi.as_view(), "api-proposal-cancel"),
    api_path(
        f"{PROPOSAL}/extend-auto-release",
        ProposalExtendAutoReleaseApi.as_view(),
        "api-proposal-extend-auto-release",
    ),
    api_path("tasks", TaskListCreateApi.as_view(), "api-tasks"),
    api_path("tasks/create", TaskCreateApi.as_view(), "api-task-create"),
    api_path(r"tasks/(?P<task_id>[0-9]+)", TaskDetailApi.as_view(), "api-task"),
]
