"""The HTTP API of the core domain, part two: conversations, their messages and read
marks, and the caller's notifications (CONTRACT.md, "Conversations")."""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .api_common import (
    errors,
    paginated,
    paginated_response,
)
from .chat_limits import RateLimited
from .models import Group
from .notifications import notifications_mark_read
from .serializers import MessageOutputSerializer, NotificationOutputSerializer

# --- conversations ------------------------------------------------------------------


class ConversationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group_id = serializers.IntegerField()
    product_owner_id = serializers.IntegerField()
    active_proposal_id = serializers.IntegerField(allow_null=True)
    total_proposals = serializers.IntegerField()
    total_completed_projects = serializers.IntegerField()
    unread_count = serializers.IntegerField(
        help_text="Messages after the caller's read mark that someone else posted."
    )
    created_at = serializers.DateTimeField()


class ConversationListCreateApi(APIView):
    class ConversationOpenInputSerializer(serializers.Serializer):
        group_id = serializers.PrimaryKeyRelatedField(queryset=Group.objects.all())

    @extend_schema(
        operation_id="conversations_list",
        parameters=[OpenApiParameter("page", int)],
        responses={
            200: paginated(ConversationOutputSerializer, "PaginatedConversationList"),
            **errors(401, 404),
        },
        description=(
            "The caller's conversations, as the buyer or as a current member of the group, "
            "newest first, each with its unread count; paginated (404 for a page past the "
            "last)."
        ),
    )
    def get(self, request):
        conversations = selectors.conversation_list(user=request.user)
        return paginated_response(
            request=request,
            view=self,
            queryset=conversations,
            serializer_class=ConversationOutputSerializer,
        )

    @extend_schema(
        operation_id="conversations_open",
        request=ConversationOpenInputSerializer,
        responses={
            200: ConversationOutputSerializer,
            201: ConversationOutputSerializer,
            **errors(400, 401),
        },
        description=(
            "The caller, as the buyer, opens a conversation with a group: 201 with a new "
            "conversation, 200 with the existing one for this buyer and group. 400 "
            "`own_group` for a member of the group; 400 `invalid` for an unknown group."
        ),
    )
    def post(self, request):
        serializer = self.ConversationOpenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation, created = services.conversation_open(
            buyer=request.user, group=serializer.validated_data["group_id"]
        )
        conversation = selectors.conversation_list(user=request.user).get(pk=conversation.pk)
        return Response(
            ConversationOutputSerializer(conversation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationReadApi(APIView):
    class ConversationReadInputSerializer(serializers.Serializer):
        last_message_id = serializers.IntegerField(
            required=False, min_value=0, max_value=2**63 - 1, help_text="Default: the latest."
        )

    class ConversationReadOutputSerializer(serializers.Serializer):
        last_read_message_id = serializers.IntegerField()
        unread_count = serializers.IntegerField()

    @extend_schema(
        operation_id="conversations_read",
        request=ConversationReadInputSerializer,
        responses={200: ConversationReadOutputSerializer, **errors(400, 401, 404)},
        description=(
            "A participant (the buyer or a current member of the group) marks the "
            "conversation read up to a message, by default the latest; the mark never moves "
            "back. Answers the mark and the caller's unread count. 404 for anyone else; 400 "
            "`invalid` naming the field."
        ),
    )
    def post(self, request, conversation_id):
        conversation = selectors.conversation_get(
            conversation_id=conversation_id, user=request.user
        )
        serializer = self.ConversationReadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mark = services.conversation_mark_read(
            conversation=conversation,
            user=request.user,
            message_id=serializer.validated_data.get("last_message_id"),
        )
        unread = selectors.conversation_list(user=request.user).get(pk=conversation.pk)
        return Response(
            self.ConversationReadOutputSerializer(
                {"last_read_message_id": mark, "unread_count": unread.unread_count}
            ).data
        )


class ConversationMessagesApi(APIView):
    """Posting is rate limited by `services.message_send` (the budget the chat page and
    the websocket share), not by a DRF throttle with a counter of its own."""

    class MessageInputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=5000)

    @extend_schema(
        operation_id="conversations_messages_list",
        parameters=[OpenApiParameter("page", int)],
        responses={
            200: paginated(MessageOutputSerializer, "PaginatedMessageList"),
            **errors(401, 404),
        },
        description=(
            "The conversation's messages, oldest first, system messages included (a "
            'proposal event carries `metadata` `{"type": "proposal", "proposal_id", '
            '"status"}` and no sender); paginated. Participants only (the buyer and the '
            "group's current members); 404 for anyone else and for a page past the last."
        ),
    )
    def get(self, request, conversation_id):
        conversation = selectors.conversation_get(
            conversation_id=conversation_id, user=request.user
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.message_list(conversation=conversation),
            serializer_class=MessageOutputSerializer,
        )

    @extend_schema(
        operation_id="conversations_messages_create",
        request=MessageInputSerializer,
        responses={201: MessageOutputSerializer, **errors(400, 401, 404, 429)},
        description=(
            "A participant (the buyer or a current member of the group) writes in the chat; "
            "the message also reaches open websockets. 404 for anyone else; 400 `invalid` "
            "naming `body` when it is blank or longer than 5000 characters; 429 "
            "`rate_limited` (with `Retry-After`, in seconds) when the caller sends more than "
            "`CHAT_MESSAGES_PER_MINUTE` (default 30) messages a minute, counted together with "
            "the chat page and the websocket."
        ),
    )
    def post(self, request, conversation_id):
        conversation = selectors.conversation_get(
            conversation_id=conversation_id, user=request.user
        )
        serializer = self.MessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_send(
            conversation=conversation, sender=request.user, **serializer.validated_data
        )
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response


# --- notifications ------------------------------------------------------------------

UNREAD_COUNT_HEADER = OpenApiParameter(
    "X-Unread-Count",
    int,
    location=OpenApiParameter.HEADER,
    response=[200],
    description="How many of the caller's notifications are unread (all pages).",
)


class UnreadCountOutputSerializer(serializers.Serializer):
    unread = serializers.IntegerField(help_text="The caller's unread notifications.")


class NotificationListApi(APIView):
    class NotificationFilterSerializer(serializers.Serializer):
        unread = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        operation_id="notifications_list",
        parameters=[
            OpenApiParameter("unread", bool, description="true: only the unread ones."),
            OpenApiParameter("page", int),
            UNREAD_COUNT_HEADER,
        ],
        responses={
            200: paginated(NotificationOutputSerializer, "PaginatedNotificationList"),
            **errors(400, 401, 404),
        },
        description=(
            "The caller's notifications, newest first, all or only the unread ones; "
            "paginated (404 for a page past the last). The `X-Unread-Count` header tells "
            "how many are unread in all."
        ),
    )
    def get(self, request):
        filters = self.NotificationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        response = paginated_response(
            request=request,
            view=self,
            queryset=selectors.notification_list(
                user=request.user, unread_only=filters.validated_data["unread"]
            ),
            serializer_class=NotificationOutputSerializer,
        )
        response["X-Unread-Count"] = str(selectors.unread_count(user=request.user))
        return response


class NotificationUnreadCountApi(APIView):
    @extend_schema(
        operation_id="notifications_unread_count",
        responses={200: UnreadCountOutputSerializer, **errors(401)},
        description="How many of the caller's notifications are unread.",
    )
    def get(self, request):
        return Response({"unread": selectors.unread_count(user=request.user)})


class NotificationReadApi(APIView):
    class NotificationReadInputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            max_length=1000,
            help_text="The notifications to mark read; omitted: all of the caller's.",
        )

    @extend_schema(
        operation_id="notifications_mark_read",
        request=NotificationReadInputSerializer,
        responses={200: UnreadCountOutputSerializer, **errors(400, 401)},
        description=(
            "Marks the caller's notifications read (already read ones keep their `read_at`). "
            "Ids that are not the caller's notifications are ignored, so the answer never "
            "tells whether someone else's notification exists."
        ),
    )
    def post(self, request):
        serializer = self.NotificationReadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notifications_mark_read(user=request.user, ids=serializer.validated_data.get("ids"))
        return Response({"unread": selectors.unread_count(user=request.user)})
