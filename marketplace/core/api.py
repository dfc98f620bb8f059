"""The HTTP API of the core domain, part one: accounts, groups and discovery
(CONTRACT.md); conversations, messages and notifications are in `api_conversations`.
Views are thin: parse with an input serializer, call a selector or a service, answer
with an output serializer.

What every app's API shares lives in `api_common`. `me` shows the caller's wallet: the
one place where the core's API reads from escrow (the domain modules never do).
"""

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
)
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import accounts, api_tokens, selectors, services
from .api_common import (
    errors,
    paginated,
    paginated_response,
)
from .api_tokens import ApiTokenAuthentication
from .limits import GROUP_DESCRIPTION_MAX_LENGTH, SEARCH_MAX_LENGTH, SKILL_MAX_LENGTH
from .serializers import UserRefSerializer
from .throttling import SignInRateThrottle

User = get_user_model()


# --- accounts -----------------------------------------------------------------------


class RegisterApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [SignInRateThrottle]

    class RegisterInputSerializer(serializers.Serializer):
        username = serializers.CharField(
            max_length=150, validators=User._meta.get_field("username").validators
        )
        password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
        email = serializers.EmailField(max_length=254)

        def validate_username(self, value):
            if refusal := accounts.username_refusal(value):
                raise serializers.ValidationError(refusal)
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
        description=(
            "Creates an account (with an empty wallet); open to anyone, no credentials. "
            "Then sign in with `POST /api/auth/token`. The username is stored "
            "NFKC-normalised. 400 `invalid` naming the fields: a username taken (in any "
            "case), too like an existing one (look-alike letters from another alphabet, or "
            "a capital `I` for `l`), mixing alphabets or not valid, a password the password "
            "rules refuse, an invalid e-mail; 429 `throttled` (per client address, "
            "`Retry-After` says when to try again)."
        ),
    )
    def post(self, request):
        serializer = self.RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = accounts.user_register(**serializer.validated_data)
        return Response(self.RegisterOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenApi(APIView):
    """`POST` signs in (open to anyone); `DELETE` signs the presenting token out."""

    def _method(self) -> str | None:
        # None while drf-spectacular builds the view for the schema.
        return getattr(self.request, "method", None)

    def get_authenticators(self):
        return [ApiTokenAuthentication()] if self._method() == "DELETE" else []

    def get_permissions(self):
        return [IsAuthenticated()] if self._method() == "DELETE" else [AllowAny()]

    def get_throttles(self):
        return [SignInRateThrottle()] if self._method() == "POST" else []

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)

    class TokenOutputSerializer(serializers.Serializer):
        token = serializers.CharField()

    @extend_schema(
        operation_id="auth_token",
        request=TokenInputSerializer,
        responses={200: TokenOutputSerializer, **errors(400, 429)},
        auth=[],
        description=(
            "Signs in: a new API token for `Authorization: Token <token>`; open to anyone, "
            "no credentials. The token is shown only here (the server keeps a digest), "
            "expires after `API_TOKEN_TTL_DAYS` (30 days by default), and a user keeps at "
            "most 10 tokens, the oldest dropped first. Changing the password revokes every "
            "token of the user. 400 `invalid_credentials` for a wrong username or password "
            "or an inactive account; 429 `throttled` with `Retry-After` when the client "
            "address sends too many sign-ins, or after too many failed sign-ins for the "
            "account or from the address (both are then refused for a while, even with the "
            "right password)."
        ),
    )
    def post(self, request):
        serializer = self.TokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            key = accounts.auth_token_obtain(request=request, **serializer.validated_data)
        except accounts.SignInLocked as locked:
            raise exceptions.Throttled(
                wait=settings.AXES_COOLOFF_TIME.total_seconds(), detail=locked.message
            ) from None
        return Response(self.TokenOutputSerializer({"token": key}).data)

    @extend_schema(
        operation_id="auth_token_revoke",
        request=None,
        responses={204: None, **errors(401)},
        description=(
            "Signs out: revokes the token this request is sent with (only that one; a "
            "password change revokes them all). It then answers 401 "
            "`authentication_failed` everywhere, websockets opened with it are closed. "
            "401 without a valid token (a browser session is not a token)."
        ),
    )
    def delete(self, request):
        api_tokens.token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
    """The group as it is now. A write's handler reads it inside the write's transaction
    (`transaction.atomic` on the handler): read after the commit, a lost connection would
    answer 503 ("nothing was written") for a change that was made."""
    group = selectors.group_detail(group_id=group_id)
    return Response(GroupDetailOutputSerializer(group).data, status=status_code)


class GroupListCreateApi(APIView):
    class GroupFilterSerializer(serializers.Serializer):
        search = serializers.CharField(
            required=False, default="", allow_blank=True, max_length=SEARCH_MAX_LENGTH
        )
        skill = serializers.CharField(
            required=False, default="", allow_blank=True, max_length=SKILL_MAX_LENGTH
        )

    class GroupCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(
            required=False, default="", allow_blank=True, max_length=GROUP_DESCRIPTION_MAX_LENGTH
        )
        skills = serializers.ListField(
            child=serializers.CharField(max_length=SKILL_MAX_LENGTH, allow_blank=True),
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
        description=(
            "Discovery: every group, newest first, optionally filtered by a text in its "
            "name or description and by one of its skills; paginated. Any signed-in user. "
            "404 for a page past the last."
        ),
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
        description=(
            "Creates a group (with its group wallet); any signed-in user, who becomes its "
            "leader and first member. Skills are trimmed, blanks and repeats (in any "
            "case) dropped; the description has at most 2000 characters. 400 `invalid` "
            "naming the fields; 400 `group_name_taken` when the name is another group's "
            "(in any case), looks like it (look-alike letters from another alphabet) or "
            "mixes alphabets."
        ),
    )
    @transaction.atomic  # the answer is read before the commit: see _group_detail_response
    def post(self, request):
        serializer = self.GroupCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = services.group_create(leader=request.user, **serializer.validated_data)
        return _group_detail_response(group.pk, status_code=status.HTTP_201_CREATED)


class GroupDetailApi(APIView):
    @extend_schema(
        operation_id="groups_retrieve",
        responses={200: GroupDetailOutputSerializer, **errors(401, 404)},
        description=(
            "A group with its leader and members (each with their role and when they "
            "joined). Any signed-in user; 404 `not_found` when there is no such group."
        ),
    )
    def get(self, request, group_id):
        return _group_detail_response(group_id)

    @extend_schema(
        operation_id="groups_destroy",
        responses={204: None, **errors(401, 403, 404, 409)},
        description=(
            "Deletes the group with its memberships, conversations and messages. The "
            "leader only (403 `permission_denied`). 409 `escrow_active` while any of its "
            "deals holds escrow; 409 `group_has_history` once money has moved for the group "
            "(the ledger is kept)."
        ),
    )
    def delete(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        services.group_delete(group=group, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GroupMemberAddApi(APIView):
    class GroupMemberAddInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)

    @extend_schema(
        operation_id="groups_members_add",
        request=GroupMemberAddInputSerializer,
        responses={201: GroupMemberOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description=(
            "Adds an active user, by username (in any case), as a member. The leader only: "
            "anyone else gets 403 `permission_denied`, whether the username exists or not. "
            "400 `invalid` with one message for a username nobody has and for a user who "
            "cannot be added (a deactivated account), so the answer tells nobody who has an "
            "account; 409 `already_member`."
        ),
    )
    def post(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        serializer = self.GroupMemberAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.group_member_add_by_username(
            group=group, actor=request.user, username=serializer.validated_data["username"]
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
            "The caller leaves the group and answers with the group as it is now; open "
            "tasks assigned to them are unassigned. 409 `leader_cannot_leave` for the "
            "leader (transfer the leadership first); 409 `not_a_member` for anyone who is "
            "not a member."
        ),
    )
    @transaction.atomic
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
        description=(
            "Hands the group to another member, who becomes its leader; the former leader "
            "stays a member. The leader only (403 `permission_denied`). 400 "
            "`new_leader_not_member` unless the user is a member."
        ),
    )
    @transaction.atomic
    def post(self, request, group_id):
        group = selectors.group_get(group_id=group_id)
        serializer = self.GroupLeadershipTransferInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.group_leadership_transfer(
            group=group, actor=request.user, new_leader_id=serializer.validated_data["user_id"]
        )
        return _group_detail_response(group.pk)
