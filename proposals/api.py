"""The HTTP API of proposals and their tasks (CONTRACT.md, "Proposals" and "Tasks"), and
the buyer's extension of the automatic release.

Views are thin: parse with an input serializer, check that the caller may *see* the object
(a stranger gets 404 and never learns it exists), call the service, which decides who may
*do* it (403 `permission_denied`) and whether the status allows it (409 with the
service's code), and answer with the shared output serializers of `proposals.serializers`.

Every endpoint sits behind the rollout flag: `IsAuthenticated` first (anonymous → 401),
then `NewWorkflowEnabled` (403 `new_workflow_disabled`).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from escrow.money import parse_amount
from marketplace.core import selectors as marketplace_selectors
from marketplace.core.api_common import (
    IDEMPOTENCY_RULE,
    AmountInputField,
    JSONParser,
    error_example,
    errors,
    paginated,
    paginated_response,
)
from marketplace.core.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from marketplace.core.limits import DESCRIPTION_MAX_LENGTH
from marketplace.core.rollout import NewWorkflowEnabled

from . import selectors, services
from .errors import NotAMember
from .models import TASK_POINTS_MAX, TASK_POINTS_MIN, Proposal, Task
from .serializers import (
    ProposalDetailOutputSerializer,
    ProposalOutputSerializer,
    TaskOutputSerializer,
)

User = get_user_model()

# Ids arrive as JSON numbers; anything outside a database id's range is simply unknown.
MAX_ID = 2**63 - 1


def _id_field(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class NewWorkflowApi(APIView):
    """Base of every proposal, task and dispute endpoint: JSON in (CONTRACT.md, so the
    schema documents exactly that), signed in, and the rollout flag on."""

    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated, NewWorkflowEnabled]


def _proposal_response(proposal, *, status_code=status.HTTP_200_OK) -> Response:
    return Response(ProposalOutputSerializer(proposal).data, status=status_code)


def _proposal_example(**changes) -> dict:
    """A proposal as the API shows it, for the schema's examples: 1000.00 USD at the
    default rates (10 % platform fee, 3 % leader commission), pending unless `changes`
    say otherwise."""
    example = {
        "id": 42,
        "conversation_id": 7,
        "group_id": 3,
        "title": "Landing page",
        "description": "Design, copy and build of a one-page site.",
        "status": "pending",
        "price": "1000.00",
        "currency": "USD",
        "platform_fee": "100.00",
        "leader_commission": "30.00",
        "member_pool": "870.00",
        "escrow_amount": "0.00",
        "platform_fee_rate": "0.1000",
        "leader_commission_rate": "0.0300",
        "due_date": "2026-06-01",
        "pool_split": "equal",
        "is_legacy": False,
        "created_at": "2026-05-04T09:00:00.000000Z",
        "accepted_at": None,
        "started_at": None,
        "delivered_at": None,
        "completed_at": None,
        "rejected_at": None,
        "withdrawn_at": None,
        "cancelled_at": None,
        "disputed_at": None,
        "resolved_at": None,
        "auto_release_at": None,
    }
    example.update(changes)
    return example


_ACCEPTED_AT = "2026-05-04T10:00:00.000000Z"
_STARTED_AT = "2026-05-05T08:00:00.000000Z"
_DELIVERED_AT = "2026-05-20T16:00:00.000000Z"


# --- proposals ----------------------------------------------------------------------


class ProposalCreateInputSerializer(serializers.Serializer):
    conversation_id = _id_field()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH
    )
    price = AmountInputField(help_text='A decimal string with at most two places, e.g. "1000.00".')
    currency = serializers.ChoiceField(
        choices=list(settings.CURRENCIES),
        required=False,
        default=settings.DEFAULT_CURRENCY,
        help_text=f"ISO 4217; default {settings.DEFAULT_CURRENCY}.",
    )
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    pool_split = serializers.ChoiceField(
        choices=Proposal.PoolSplit.choices,
        required=False,
        default=Proposal.PoolSplit.EQUAL,
        help_text="`equal` (default) or `task_points`: the member pool follows the points "
        "of the done tasks assigned to each participant.",
    )

    def validate(self, attrs):
        # `parse_amount` refuses with 400 `invalid_amount` naming the field `price`.
        attrs["price"] = parse_amount(attrs["price"], attrs["currency"], field="price")
        return attrs


_CREATE_SCHEMA = {
    "request": ProposalCreateInputSerializer,
    "responses": {201: ProposalOutputSerializer, **errors(400, 401, 403, 404, 409)},
    "description": (
        "The leader of the conversation's group proposes a price to the buyer (status "
        "`pending`, nothing held in escrow yet); the fee and commission rates in force are "
        "frozen on it with its `pool_split` (default `equal`), and a system message "
        "announces it in the conversation. 400 "
        "`invalid_amount` (field `price`), `currency_mismatch` when the buyer's or the "
        "group's wallet holds another currency; 404 when the conversation is not the "
        "caller's; 403 `permission_denied` for anyone but the group's leader; 409 "
        "`proposal_open` while another proposal of the conversation is pending, accepted, "
        "in progress, delivered or disputed."
    ),
}


def _create(request) -> Response:
    serializer = ProposalCreateInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    conversation = marketplace_selectors.conversation_get(
        conversation_id=data["conversation_id"], user=request.user
    )
    proposal = services.proposal_create(
        conversation=conversation,
        actor=request.user,
        title=data["title"],
        description=data["description"],
        price=data["price"],
        due_date=data["due_date"],
        pool_split=data["pool_split"],
    )
    return _proposal_response(proposal, status_code=status.HTTP_201_CREATED)


class ProposalListCreateApi(NewWorkflowApi):
    class ProposalFilterSerializer(serializers.Serializer):
        conversation_id = _id_field(required=False, help_text="Only this conversation's.")

    @extend_schema(
        operation_id="proposals_list",
        parameters=[ProposalFilterSerializer, OpenApiParameter("page", int)],
        responses={
            200: paginated(ProposalOutputSerializer, "PaginatedProposalList"),
            **errors(400, 401, 403, 404),
        },
        description=(
            "The caller's proposals, as the buyer or as a current member of the group, "
            "newest first, optionally of one conversation; paginated (404 for a page past "
            "the last)."
        ),
    )
    def get(self, request):
        filters = self.ProposalFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        proposals = selectors.proposal_list(
            user=request.user, conversation_id=filters.validated_data.get("conversation_id")
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=proposals,
            serializer_class=ProposalOutputSerializer,
        )

    @extend_schema(operation_id="proposals_create_alias", **_CREATE_SCHEMA)
    def post(self, request):
        return _create(request)


class ProposalCreateApi(NewWorkflowApi):
    @extend_schema(operation_id="proposals_create", **_CREATE_SCHEMA)
    def post(self, request):
        return _create(request)


class ProposalDetailApi(NewWorkflowApi):
    @extend_schema(
        operation_id="proposals_retrieve",
        responses={200: ProposalDetailOutputSerializer, **errors(401, 403, 404)},
        description=(
            "One proposal with its money split, the time of each transition and "
            "`pool_shares`: each sharer's part of the member pool so far by its "
            "`pool_split`, which the buyer sees before accepting. The buyer, the group's "
            "current members; anyone else, staff included, 404."
        ),
    )
    def get(self, request, proposal_id):
        proposal = selectors.proposal_get(proposal_id=proposal_id, user=request.user)
        proposal.pool_shares = selectors.pool_shares(proposal=proposal)
        return Response(ProposalDetailOutputSerializer(proposal).data)


def _action_schema(
    action: str, who: str, effect: str, *, request=None, idempotency=False, examples=None
):
    conflicts = "409 `invalid_transition` in any other status"
    if action == "accept":
        conflicts += "; 409 `insufficient_funds` (and nothing changes)"
    if idempotency:
        conflicts += "; 409 `idempotency_key_reused`"
    description = (
        f"{who} only (403 `permission_denied` for other participants; 404 for anyone who "
        f"cannot see the proposal, staff included). {effect}. {conflicts}."
    )
    if idempotency:
        description += " " + IDEMPOTENCY_RULE
    return extend_schema(
        operation_id=f"proposals_{action}",
        request=request,
        parameters=[IDEMPOTENCY_KEY_PARAMETER] if idempotency else None,
        responses={200: ProposalOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description=description,
        examples=examples,
    )


def _invalid_transition(action: str, status_now: str) -> OpenApiExample:
    return error_example(
        409, "invalid_transition", f"Cannot {action} a proposal that is {status_now}."
    )


class _ProposalActionApi(NewWorkflowApi):
    """POST /api/proposals/{id}/<action>: a transition of the proposal's state machine."""

    service = None  # the proposal service, e.g. services.proposal_reject

    def run(self, request, proposal_id) -> Response:
        proposal = selectors.proposal_get(proposal_id=proposal_id, user=request.user)
        proposal = type(self).service(proposal=proposal, actor=request.user)
        return _proposal_response(proposal)


class ProposalAcceptApi(_ProposalActionApi):
    service = services.proposal_accept

    @_action_schema(
        "accept",
        "The buyer",
        "pending → accepted; the price moves from the buyer's available balance to escrow, "
        "and the group's members at this moment become the proposal's participants",
        idempotency=True,
        examples=[
            OpenApiExample(
                "accepted",
                value=_proposal_example(
                    status="accepted", escrow_amount="1000.00", accepted_at=_ACCEPTED_AT
                ),
                response_only=True,
                status_codes=["200"],
            ),
            error_example(
                409,
                "insufficient_funds",
                "Available balance 40.00 USD is below the price 1000.00 USD.",
            ),
            _invalid_transition("accept", "withdrawn"),
        ],
    )
    @idempotent
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


class ProposalRejectApi(_ProposalActionApi):
    service = services.proposal_reject

    @_action_schema("reject", "The buyer", "pending → rejected")
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


class ProposalWithdrawApi(_ProposalActionApi):
    service = services.proposal_withdraw

    @_action_schema("withdraw", "The group's leader", "pending → withdrawn")
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


class ProposalStartApi(_ProposalActionApi):
    service = services.proposal_start

    @_action_schema("start", "The group's leader", "accepted → in_progress")
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


class ProposalDeliverApi(_ProposalActionApi):
    service = services.proposal_deliver

    @_action_schema("deliver", "The group's leader", "accepted or in_progress → delivered")
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


class ProposalRequestChangesApi(NewWorkflowApi):
    class ProposalRequestChangesInputSerializer(serializers.Serializer):
        note = serializers.CharField(
            max_length=5000, help_text="What to change; posted in the conversation."
        )

    @_action_schema(
        "request_changes",
        "The buyer",
        "delivered → in_progress, with a note posted in the conversation",
        request=ProposalRequestChangesInputSerializer,
    )
    def post(self, request, proposal_id):
        proposal = selectors.proposal_get(proposal_id=proposal_id, user=request.user)
        serializer = self.ProposalRequestChangesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = services.proposal_request_changes(
            proposal=proposal, actor=request.user, note=serializer.validated_data["note"]
        )
        return _proposal_response(proposal)


class ProposalConfirmApi(_ProposalActionApi):
    service = services.proposal_confirm

    @_action_schema(
        "confirm",
        "The buyer",
        "delivered → completed; the escrow is released: the platform fee, the leader's "
        "commission and the member pool split among the participants. A disputed "
        "proposal is frozen until staff resolve it",
        idempotency=True,
        examples=[
            OpenApiExample(
                "completed",
                value=_proposal_example(
                    status="completed",
                    accepted_at=_ACCEPTED_AT,
                    started_at=_STARTED_AT,
                    delivered_at=_DELIVERED_AT,
                    completed_at="2026-05-21T11:00:00.000000Z",
                ),
                response_only=True,
                status_codes=["200"],
            ),
            _invalid_transition("confirm", "in_progress"),
        ],
    )
    @idempotent
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


class ProposalCancelApi(_ProposalActionApi):
    service = services.proposal_cancel

    @_action_schema(
        "cancel",
        "The group's leader",
        "accepted or in_progress → cancelled; the whole escrow goes back to the buyer's "
        "available balance",
        idempotency=True,
        examples=[
            OpenApiExample(
                "cancelled",
                value=_proposal_example(
                    status="cancelled",
                    accepted_at=_ACCEPTED_AT,
                    started_at=_STARTED_AT,
                    cancelled_at="2026-05-06T12:00:00.000000Z",
                ),
                response_only=True,
                status_codes=["200"],
            ),
            _invalid_transition("cancel", "delivered"),
        ],
    )
    @idempotent
    def post(self, request, proposal_id):
        return self.run(request, proposal_id)


# --- tasks --------------------------------------------------------------------------


def _assignee(user_id):
    """The assignee to hand to the service: the user with this id, or, when there is none,
    an unsaved placeholder that is nobody's member, so the service refuses an unknown id
    exactly as it refuses an outsider (400 `not_a_member`)."""
    user = User.objects.filter(pk=user_id).first()
    return user if user is not None else User(username=f"user #{user_id}")


def _naming_assignee(call):
    """Run `call`; a `not_a_member` refusal names the field `assigned_to_id`."""
    try:
        return call()
    except NotAMember as error:
        error.fields = {"assigned_to_id": [error.message]}
        raise


class TaskCreateInputSerializer(serializers.Serializer):
    proposal_id = _id_field()
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH
    )
    assigned_to_id = _id_field(required=False, allow_null=True, default=None)
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    points = serializers.IntegerField(
        min_value=TASK_POINTS_MIN, max_value=TASK_POINTS_MAX, required=False, default=1
    )


_TASK_CREATE_SCHEMA = {
    "request": TaskCreateInputSerializer,
    "responses": {201: TaskOutputSerializer, **errors(400, 401, 403, 404, 409)},
    "description": (
        "The group's leader adds a task (status `todo`) to an accepted or in-progress "
        "proposal, optionally assigned to a member, worth `points` (1 to 100, default 1; a "
        "`task_points` proposal's pool follows the done tasks' points). 404 when the "
        "proposal is not the "
        "caller's; 403 `permission_denied` for anyone but the leader; 409 "
        "`invalid_transition` unless the proposal is accepted or in progress; 400 "
        "`not_a_member` (field `assigned_to_id`) when the assignee is not a member of the "
        "group."
    ),
}


@transaction.atomic  # the answer is read before the commit, never after (a 503 then would lie)
def _task_create(request) -> Response:
    serializer = TaskCreateInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    proposal = selectors.proposal_get(proposal_id=data["proposal_id"], user=request.user)
    assignee = None if data["assigned_to_id"] is None else _assignee(data["assigned_to_id"])
    task = _naming_assignee(
        lambda: services.task_create(
            proposal=proposal,
            actor=request.user,
            title=data["title"],
            description=data["description"],
            assigned_to=assignee,
            due_date=data["due_date"],
            points=data["points"],
        )
    )
    return Response(TaskOutputSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskListCreateApi(NewWorkflowApi):
    class TaskFilterSerializer(serializers.Serializer):
        proposal_id = _id_field()

    @extend_schema(
        operation_id="tasks_list",
        parameters=[TaskFilterSerializer, OpenApiParameter("page", int)],
        responses={
            200: paginated(TaskOutputSerializer, "PaginatedTaskList"),
            **errors(400, 401, 403, 404),
        },
        description=(
            "The proposal's tasks in order of creation, for its participants (the buyer "
            "reads them); 404 for anyone else, staff included, and for a page past the last. "
            "`proposal_id` is required (400 without it)."
        ),
    )
    def get(self, request):
        filters = self.TaskFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        proposal = selectors.proposal_get(
            proposal_id=filters.validated_data["proposal_id"], user=request.user
        )
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.task_list(proposal=proposal),
            serializer_class=TaskOutputSerializer,
        )

    @extend_schema(operation_id="tasks_create_alias", **_TASK_CREATE_SCHEMA)
    def post(self, request):
        return _task_create(request)


class TaskCreateApi(NewWorkflowApi):
    @extend_schema(operation_id="tasks_create", **_TASK_CREATE_SCHEMA)
    def post(self, request):
        return _task_create(request)


class TaskDetailApi(NewWorkflowApi):
    class TaskUpdateInputSerializer(serializers.Serializer):
        # Plain values (not Task.Status.choices) keep this enum apart from the output's.
        status = serializers.ChoiceField(choices=list(Task.Status.values), required=False)
        assigned_to_id = _id_field(
            required=False, allow_null=True, help_text="null unassigns; leader only."
        )
        points = serializers.IntegerField(
            min_value=TASK_POINTS_MIN,
            max_value=TASK_POINTS_MAX,
            required=False,
            help_text="Leader only.",
        )

    @extend_schema(
        operation_id="tasks_update",
        request=TaskUpdateInputSerializer,
        responses={200: TaskOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description=(
            "The assignee moves their own task; the leader moves any task, (re)assigns it "
            "and changes its `points` (403 for the assignee). The buyer reads but never "
            "writes (403). 400 `not_a_member` for an "
            "assignee outside the group; 409 `invalid_transition` unless the proposal is "
            "accepted or in progress. A task moving to in_progress starts the proposal. 404 "
            "for anyone who cannot see the task."
        ),
    )
    @transaction.atomic  # the answer is read before the commit, as above
    def patch(self, request, task_id):
        task = selectors.task_get(task_id=task_id, user=request.user)
        serializer = self.TaskUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changes = {}
        if "status" in data:
            changes["status"] = data["status"]
        if "points" in data:
            changes["points"] = data["points"]
        if "assigned_to_id" in data:
            user_id = data["assigned_to_id"]
            changes["assigned_to"] = None if user_id is None else _assignee(user_id)
        task = _naming_assignee(
            lambda: services.task_update(task=task, actor=request.user, **changes)
        )
        return Response(TaskOutputSerializer(task).data)


# --- the automatic release -----------------------------------------------------


class ExtendInputSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=services.AUTO_RELEASE_MAX_EXTENSION_DAYS)


class AutoReleaseOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    auto_release_at = serializers.DateTimeField(allow_null=True)
    auto_release_extended_until = serializers.DateTimeField(allow_null=True)


class ProposalExtendAutoReleaseApi(NewWorkflowApi):
    @extend_schema(
        operation_id="proposals_extend_auto_release",
        request=ExtendInputSerializer,
        responses={200: AutoReleaseOutputSerializer, **errors(400, 401, 403, 404, 409)},
        description=(
            "Pushes the automatic release of a delivered proposal's escrow back by `days`, "
            "and answers with the new release time. The buyer only (403 "
            "`permission_denied`; 404 for anyone who cannot see the proposal), once (409 "
            "`auto_release_already_extended`), while the proposal is delivered (409 "
            "`invalid_transition`); `days` from 1 to "
            f"{services.AUTO_RELEASE_MAX_EXTENSION_DAYS} (400)."
        ),
    )
    def post(self, request, proposal_id):
        proposal = selectors.proposal_get(proposal_id=proposal_id, user=request.user)
        serializer = ExtendInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = services.proposal_extend_auto_release(
            proposal=proposal, actor=request.user, days=serializer.validated_data["days"]
        )
        return Response(AutoReleaseOutputSerializer(proposal).data)
