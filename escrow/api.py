"""The wallet API (CONTRACT.md, "Accounts and wallets" and the group wallet of "Groups
and discovery"). Views parse, call `escrow.services`, and answer; money in as decimal
strings through `parse_amount`, money out as two-place strings with a currency."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core import selectors as marketplace_selectors
from marketplace.core.api_common import (
    IDEMPOTENCY_RULE,
    AmountInputField,
    MoneyAmountField,
    error_example,
    errors,
    paginated,
    paginated_response,
)
from marketplace.core.errors import NotFound
from marketplace.core.idempotency import IDEMPOTENCY_KEY_PARAMETER, client_key, idempotent

from . import selectors, services
from .money import parse_amount
from .serializers import WalletOutputSerializer


class TransactionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=services.Kind.choices)
    amount = MoneyAmountField()
    currency = serializers.CharField(source="amount.currency.code")
    direction = serializers.ChoiceField(
        choices=["in", "out"], help_text="Whether the money came into this wallet or left it."
    )
    created_at = serializers.DateTimeField()
    memo = serializers.CharField()
    seal_id = serializers.IntegerField(
        allow_null=True, help_text="The ledger seal covering this entry; null until sealed."
    )
    seal_hash = serializers.CharField(
        allow_null=True, help_text="That seal's hash (64 hex digits); null until sealed."
    )


class MoneyMovementInputSerializer(serializers.Serializer):
    amount = AmountInputField(
        help_text="A decimal string with at most two places, above 0 and at most "
        f'{settings.MAX_AMOUNT}, such as "12.50" (never a float).'
    )
    currency = serializers.ChoiceField(
        choices=list(settings.CURRENCIES),
        required=False,
        help_text="ISO 4217; default: the wallet's currency, which it must match.",
    )


class MoneyMovementOutputSerializer(serializers.Serializer):
    transaction = TransactionOutputSerializer()
    wallet = WalletOutputSerializer()


def _movement_example(*, kind, amount, direction, memo, available):
    """A 201 body of a deposit or a withdrawal, for the schema (no escrow held)."""
    return {
        "transaction": {
            "id": 1042,
            "kind": kind,
            "amount": amount,
            "currency": "USD",
            "direction": direction,
            "created_at": "2026-05-04T09:30:00.000000Z",
            "memo": memo,
            "seal_id": None,
            "seal_hash": None,
        },
        "wallet": {
            "currency": "USD",
            "balance": available,
            "available_balance": available,
            "escrow_balance": "0.00",
        },
    }


_REUSED_KEY = error_example(
    409,
    "idempotency_key_reused",
    "The Idempotency-Key 'c0ffee-2026-05-04' was already used for a different request.",
)


def _parse(request):
    """The `Money` to move: the amount checked by `parse_amount` (400 with a code such as
    `invalid_amount`), in the given currency or the wallet's."""
    serializer = MoneyMovementInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    currency = data.get("currency") or selectors.wallet_get(user=request.user).currency
    return parse_amount(data["amount"], currency)


def _movement_response(request, entry) -> Response:
    wallet = selectors.wallet_get(user=request.user)
    entry.direction = "in" if entry.to_wallet_id == wallet.pk else "out"
    entry.seal_id = entry.seal_hash = None  # just posted: sealed a few seconds later at best
    data = {"transaction": entry, "wallet": wallet}
    return Response(MoneyMovementOutputSerializer(data).data, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    """The signed-in account with its wallet (CONTRACT.md `GET /api/me`): it lives here,
    above the core, because it shows the wallet."""

    class MeOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        email = serializers.EmailField()
        wallet = WalletOutputSerializer()

    @extend_schema(
        operation_id="me",
        responses={200: MeOutputSerializer, **errors(401)},
        description=(
            "The signed-in account with its wallet (an empty one in the default currency "
            "until money first moves)."
        ),
    )
    def get(self, request):
        user = request.user
        data = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "wallet": selectors.wallet_get(user=user),
        }
        return Response(self.MeOutputSerializer(data).data)


class WalletApi(APIView):
    @extend_schema(
        operation_id="wallet",
        responses={200: WalletOutputSerializer, **errors(401)},
        description=(
            "The caller's wallet: `available_balance` (free to spend or withdraw), "
            "`escrow_balance` (locked in the escrow of the proposals they accepted) and "
            "`balance`, their sum."
        ),
    )
    def get(self, request):
        return Response(WalletOutputSerializer(selectors.wallet_get(user=request.user)).data)


class WalletTransactionListApi(APIView):
    @extend_schema(
        operation_id="wallet_transactions",
        parameters=[OpenApiParameter("page", int)],
        responses={
            200: paginated(TransactionOutputSerializer, "PaginatedWalletTransactionList"),
            **errors(401, 404),
        },
        description=(
            "The escrow transactions (ledger entries) touching the caller's wallet, newest "
            "first, each with its direction; paginated (404 for a page past the last). "
            "Entries are never changed or deleted."
        ),
    )
    def get(self, request):
        wallet = selectors.wallet_get(user=request.user)
        return paginated_response(
            request=request,
            view=self,
            queryset=selectors.wallet_transaction_list(wallet=wallet),
            serializer_class=TransactionOutputSerializer,
        )


class WalletDepositApi(APIView):
    @extend_schema(
        operation_id="wallet_deposit",
        request=MoneyMovementInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: MoneyMovementOutputSerializer, **errors(400, 401, 404, 409)},
        description=(
            "Adds money to the caller's available balance, charged through the payment "
            "provider; the caller's own wallet only. Only while the sandbox payment "
            "provider is enabled (development, demo and tests): 404 `payments_disabled` "
            "otherwise. 400 `invalid_amount` (naming `amount`), `currency_mismatch` (another "
            "currency than the wallet's) or `invalid`; 409 `balance_limit_exceeded`. "
            + IDEMPOTENCY_RULE
            + " The "
            "key is checked before the provider is charged, so a replay never charges twice."
        ),
        examples=[
            OpenApiExample("deposit", value={"amount": "250.00"}, request_only=True),
            OpenApiExample(
                "deposited",
                value=_movement_example(
                    kind="deposit",
                    amount="250.00",
                    direction="in",
                    memo="sandbox-charge-6f1c2b1e-8a3d-5f0e-9b7a-2d4c6e8f0a1b",
                    available="290.00",
                ),
                response_only=True,
                status_codes=["201"],
            ),
            error_example(
                400,
                "invalid_amount",
                "Amounts have at most two decimal places.",
                amount=["Amounts have at most two decimal places."],
            ),
            error_example(
                404,
                "payments_disabled",
                "Deposits are not available: no payment provider is enabled.",
            ),
            _REUSED_KEY,
        ],
    )
    @idempotent
    def post(self, request):
        amount = _parse(request)
        entry = services.wallet_deposit(
            user=request.user,
            amount=amount,
            idempotency_key=client_key(request) or services.new_key(),
        )
        return _movement_response(request, entry)


class WalletWithdrawApi(APIView):
    @extend_schema(
        operation_id="wallet_withdraw",
        request=MoneyMovementInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: MoneyMovementOutputSerializer, **errors(400, 401, 409)},
        description=(
            "A payout request: the amount leaves the caller's available balance at once "
            "and the payment provider pays it out; the caller's own wallet only. 409 "
            "`insufficient_funds` above the available balance (nothing changes); 400 "
            "`invalid_amount` (naming `amount`), `currency_mismatch` (another currency than "
            "the wallet's) or `invalid`. " + IDEMPOTENCY_RULE
        ),
        examples=[
            OpenApiExample("withdraw", value={"amount": "100.00"}, request_only=True),
            OpenApiExample(
                "withdrawn",
                value=_movement_example(
                    kind="withdrawal",
                    amount="100.00",
                    direction="out",
                    memo="Payout requested",
                    available="190.00",
                ),
                response_only=True,
                status_codes=["201"],
            ),
            error_example(
                409,
                "insufficient_funds",
                "Available balance 40.00 USD is below the withdrawal of 100.00 USD.",
            ),
            _REUSED_KEY,
        ],
    )
    @idempotent
    def post(self, request):
        amount = _parse(request)
        entry = services.wallet_withdraw(
            user=request.user,
            amount=amount,
            idempotency_key=client_key(request) or services.new_key(),
        )
        return _movement_response(request, entry)


class GroupWalletApi(APIView):
    class GroupWalletOutputSerializer(serializers.Serializer):
        currency = serializers.CharField()
        available_balance = MoneyAmountField()
        escrow_balance = MoneyAmountField()
        total_escrow_received = MoneyAmountField()

    @extend_schema(
        operation_id="groups_wallet",
        responses={200: GroupWalletOutputSerializer, **errors(401, 404)},
        description=(
            "The group's wallet: `escrow_balance`, the buyers' money held in escrow for "
            "its deals, and `total_escrow_received`, everything ever released from it to "
            "the leader and members. The group's current members only; anyone else gets "
            "404 `not_found`, as for a group that does not exist."
        ),
    )
    def get(self, request, group_id):
        if not marketplace_selectors.group_is_member(group_id=group_id, user=request.user):
            raise NotFound("No such group.")
        group = marketplace_selectors.group_get(group_id=group_id)
        return Response(
            self.GroupWalletOutputSerializer(selectors.group_wallet_get(group=group)).data
        )
