"""The HTTP API of the core domain: accounts, groups and discovery, conversations and
messages (CONTRACT.md). Views are thin: parse with an input serializer, call a selector
or a service, answer with an output serializer.

What every app's API shares lives in `api_common`. `me` shows the caller's wallet: the
one place where the core's API reads from escrow (the domain modules never do).
"""

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from escrow.api import WalletOutputSerializer
from escrow.selectors import wallet_get

from . import selectors, services
from .api_common import (
    PostThrottleMixin,
    errors,
    paginated,
    paginated_response,
)
from .models import Group
from .notifications import notifications_mark_read
from .serializers import MessageOutputSerializer, NotificationOutputSerializer, UserRefSerializer

User = get_user_model()


# --- accounts -----------------------------------------------------------------------


class RegisterApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class RegisterInputSerializer(serializers.Serializer):
        username = serializers.CharField(
            max_length=150, validators=User._meta.get_field("username").validators
        )
        password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
        email = serializers.EmailField()

        def validate_username(self, value):
            if User.objects.filter(username__iexact=value).exists():
                raise serializers.ValidationError("This username is taken.")
            return value

        def validate(self, attrs):
            candidate = User(username=attrs["username"], email=attrs["email"])
            try:
                password_validation.validate_password(attrs["password"], user=candidate)
            except DjangoValidationError as error:
                raise serializers.ValidationError({"password": list(error.messages)}) from None
            return attrs

    class RegisterOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()

    @extend_schema(
        operation_id="auth_register",
        request=RegisterInputSerializer,
        responses={201: RegisterOutputSerializer, **errors(400, 429)},
        auth=[],
    )
    def post(self, request):
        serializer = self.RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(self.RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField()
        password = serializers.CharField(write_only=True, trim_whitespace=False)

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField(source="key")

    @extend_schema(
        operation_id="auth_token",
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, **errors(400, 429)},
        auth=[],
        description="Bad credentials: 400 `invalid_credentials`.",
    )
    def post(self, request):
        serializer = self.TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = services.auth_token_obtain(**serializer.validated_data)
        return Response(self.TokenOutputSerializer(token).data)


class MeApi(APIView):
    class MeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField()
        wallet = WalletOutputSerializer()

    @extend_schema(operation_id="me", responses={200: MeOutputSerializer, **errors(401)})
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "wallet": wallet_get(user=user),
        }
        return Response(self.MeOutputSerializer(data).data)


# --- groups -------------------------------------------------------------------------


class GroupMemberOutputSerializer(serializers.Serializer):
    """A membership, shown as the member."""

    id = serializers.IntegerField(source="user.id")
    username = serializers.CharField(source="user.username")
    role = serializers.SerializerMethodField()
    joined_at = serializers.DateTimeField()

    def get_role(self, membership) -> str:
        return "leader" if membership.user_id == membership.group.leader_id else "member"


class GroupDetailOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    skills = serializers.ListField(child=serializers.CharField())
    leader = UserRefSerializer()
    members = GroupMemberOutputSerializer(source="memberships.all", many=True)
    created_at = serializers.DateTimeField()


def _group_detail_response(group_id, *, status_code=status.HTTP_200_OK) -> Response:
    group = selectors.group_detail(group_id=group_id)
    return Response(GroupDetailOutputSerializer(group).data, status=status_code)


class GroupListCreateApi(APIView):
    class GroupFilterSerializer(serializers.Serializer):
        search = serializers.CharField(required=False, default="", allow_blank=True)
        skill = serializers.CharField(required=False, default="", allow_blank=True)

    class GroupCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, default="", allow_blank=True)
        skills = serializers.ListField(
            child=serializers.CharField(max_length=50, allow_blank=True),
            required=False,
            default=list,
            max_length=30,
        )

    class GroupListItemSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        description = serializers.CharField()
        skills = serializers.ListField(child=serializers.CharField())
        leader = UserRefSerializer()
        member_count = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="groups_list",
        parameters=[
            OpenApiParameter("search", str, description="In the name or description."),
            OpenApiParameter("skill", str, description="One of the group's skills (any case)."),
            OpenApiParameter("page", int),
        ],
        responses={
            200: paginated(GroupListItemSerializer, "PaginatedGroupList"),
            **errors(400, 401, 404),
        },
    )
    def get(self, request):
        filters = self.GroupFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        groups = selectors.group_list(**filters.validated_data)
        return paginated_response(
            request=request,
            view=self,
            queryset=groups,
            serializer_class=self.GroupListItemSerializer,
        )

    @extend_schema(
        operation_id="groups_create",
        request=GroupCreateInputSerializer,
        responses={201: GroupDetailOutputSerializer, **errors(400, 401)},
    )
    def post(self, request):
        serializer = self.GroupCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = services.group_create(leader=request.user, **serializer.validated_data)
        return _group_detail_response(group.pk, status_code=status.HTTP_201_CREATED)


class GroupDetailApi(APIView):
    @extend_schema(
        operation_id="groups_retrieve",
        responses={200: GroupDetailOutputSerializer, **errors(401, 404)},
    )
    def get(self, request, group_id):
        return _group_detail_response(group_id)

    @extend_schema(
        operation_id="groups_destroy",
        responses={204: None, **errors(401, 403, 404, 409)},
        description=(
            "Leader only. 409 `escrow_active` while any of its deals holds escrow; 409 "
            "`group_has_history` once money has moved for the group (the ledger is kept)."
        ),
    )
    def delete(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        services.group_delete(group=group, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMemberAddApi(APIView):
    class GroupMemberAddInputSerializer(serializers.Serializer):
        username = serializers.SlugRelatedField(
            slug_field="username", queryset=User.objects.filter(is_active=True)
        )

    @extend_schema(
        operation_id="groups_members_add",
        request=GroupMemberAddInputSerializer,
        responses={201: GroupMemberOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description="Leader only. 409 `already_member`.",
    )
    def post(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        serializer = self.GroupMemberAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.group_member_add(
            group=group, actor=request.user, user=serializer.validated_data["username"]
        )
        return Response(
            GroupMemberOutputSerializer(membership).data, status=status.HTTP_201_CREATED
        )


class GroupLeaveApi(APIView):
    @extend_schema(
        operation_id="groups_leave",
        request=None,
        responses={200: GroupDetailOutputSerializer, **errors(401, 404, 409)},
        description=(
            "A member leaves. 409 `leader_cannot_leave` for the leader (transfer the "
            "leadership first); 409 `not_a_member` for anyone else who is not a member."
        ),
    )
    def post(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        services.group_leave(group=group, user=request.user)
        return _group_detail_response(group.pk)


class GroupLeadershipTransferApi(APIView):
    class GroupLeadershipTransferInputSerializer(serializers.Serializer):
        user_id = serializers.IntegerField()

    @extend_schema(
        operation_id="groups_transfer_leadership",
        request=GroupLeadershipTransferInputSerializer,
        responses={200: GroupDetailOutputSerializer, **errors(400, 401, 403, 404)},
        description="Leader only. 400 `new_leader_not_member` unless the user is a member.",
    )
    def post(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        serializer = self.GroupLeadershipTransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.group_leadership_transfer(
            group=group, actor=request.user, new_leader_id=serializer.validated_data["user_id"]
        )
        return _group_detail_response(group.pk)


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
            "201 with a new conversation, 200 with the existing one for this buyer and "
            "group. 400 `own_group` for a member of the group."
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
        description="Participants mark the conversation read up to a message (never back).",
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


class ConversationMessagesApi(PostThrottleMixin, APIView):
    throttle_scope = "messages"

    class MessageInputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=5000)

    @extend_schema(
        operation_id="conversations_messages_list",
        parameters=[OpenApiParameter("page", int)],
        responses={
            200: paginated(MessageOutputSerializer, "PaginatedMessageList"),
            **errors(401, 404),
        },
        description="Oldest first. Participants only (the buyer and the group's members).",
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
        description="The caller's notifications, newest first.",
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
