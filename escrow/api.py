"""The wallet API (CONTRACT.md, "Accounts and wallets" and the group wallet of "Groups
and discovery"). Views parse, call `escrow.services`, and answer; money in as decimal
strings through `parse_amount`, money out as two-place strings with a currency."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core import selectors as marketplace_selectors
from marketplace.core.api_common import (
    AmountInputField,
    MoneyAmountField,
    errors,
    paginated,
    paginated_response,
)
from marketplace.core.errors import NotFound
from marketplace.core.idempotency import IDEMPOTENCY_KEY_PARAMETER, client_key, idempotent

from . import selectors, services
from .money import parse_amount


class WalletOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    balance = MoneyAmountField(help_text="available_balance + escrow_balance")
    available_balance = MoneyAmountField()
    escrow_balance = MoneyAmountField()


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


class MoneyMovementInputSerializer(serializers.Serializer):
    amount = AmountInputField(help_text='A decimal string such as "12.50".')
    currency = serializers.ChoiceField(choices=list(settings.CURRENCIES), required=False)


class MoneyMovementOutputSerializer(serializers.Serializer):
    transaction = TransactionOutputSerializer()
    wallet = WalletOutputSerializer()


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

    @extend_schema(operation_id="me", responses={200: MeOutputSerializer, **errors(401)})
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
    @extend_schema(operation_id="wallet", responses={200: WalletOutputSerializer, **errors(401)})
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
        description="Escrow transactions touching the caller's wallet, newest first.",
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
            "Through the sandbox payment provider; 404 `payments_disabled` when it is off. "
            "400 `invalid_amount`; 409 `idempotency_key_reused`."
        ),
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
            "A payout request. 409 `insufficient_funds` above the available balance; "
            "400 `invalid_amount`; 409 `idempotency_key_reused`."
        ),
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
        description="The group's members only; anyone else gets 404.",
    )
    def get(self, request, group_id):
        if not marketplace_selectors.group_is_member(group_id=group_id, user=request.user):
            raise NotFound("No such group.")
        group = marketplace_selectors.group_get(group_id=group_id)
        return Response(
            self.GroupWalletOutputSerializer(selectors.group_wallet_get(group=group)).data
        )
