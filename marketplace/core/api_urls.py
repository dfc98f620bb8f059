"""API routes of the core domain, under /api/. Every trailing slash is optional."""

from .api import (
    GroupDetailApi,
    GroupLeadershipTransferApi,
    GroupLeaveApi,
    GroupListCreateApi,
    GroupMemberAddApi,
    RegisterApi,
    TokenApi,
)
from .api_common import api_path
from .api_conversations import (
    ConversationListCreateApi,
    ConversationMessagesApi,
    ConversationReadApi,
    NotificationListApi,
    NotificationReadApi,
    NotificationUnreadCountApi,
)

urlpatterns = [
    api_path("auth/register", RegisterApi.as_view(), "api-register"),
    api_path("auth/token", TokenApi.as_view(), "api-token"),
    api_path("groups", GroupListCreateApi.as_view(), "api-groups"),
    api_path(r"groups/(?P<group_id>[0-9]+)", GroupDetailApi.as_view(), "api-group"),
    api_path(
        r"groups/(?P<group_id>[0-9]+)/members", GroupMemberAddApi.as_view(), "api-group-members"
    ),
    api_path(r"groups/(?P<group_id>[0-9]+)/leave", GroupLeaveApi.as_view(), "api-group-leave"),
    api_path(
        r"groups/(?P<group_id>[0-9]+)/transfer-leadership",
        GroupLeadershipTransferApi.as_view(),
        "api-group-transfer-leadership",
    ),
    api_path("conversations", ConversationListCreateApi.as_view(), "api-conversations"),
    api_path(
        r"conversations/(?P<conversation_id>[0-9]+)/messages",
        ConversationMessagesApi.as_view(),
        "api-conversation-messages",
    ),
    api_path(
        r"conversations/(?P<conversation_id>[0-9]+)/read",
        ConversationReadApi.as_view(),
        "api-conversation-read",
    ),
    api_path("notifications", NotificationListApi.as_view(), "api-notifications"),
    api_path(
        "notifications/unread-count",
        NotificationUnreadCountApi.as_view(),
        "api-notifications-unread-count",
    ),
    api_path("notifications/read", NotificationReadApi.as_view(), "api-notifications-read"),
]
