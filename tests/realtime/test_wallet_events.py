"""Escrow announces every wallet it changes (issue 11, part 5): a deposit, a withdrawal
and a staff adjustment reach an open wallet page as `wallet.updated`, after commit."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from djmoney.money import Money

from escrow.errors import InsufficientFunds
from escrow.services import wallet_adjust, wallet_deposit, wallet_get_or_open, wallet_withdraw
from marketplace.asgi import application
from tests.conftest import issue_token
from tests.factories import UserFactory, staff_user


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def wallet_frame(balance: str) -> dict:
    return {
        "type": "wallet.updated",
        "wallet": {
            "currency": "USD",
            "balance": balance,
            "available_balance": balance,
            "escrow_balance": "0.00",
        },
    }


@pytest.mark.django_db(transaction=True)
def test_deposits_withdrawals_and_adjustments_update_an_open_wallet_page():
    user = UserFactory()
    finance = staff_user(None, "finance")
    headers = [(b"authorization", f"Token {issue_token(user)}".encode())]

    async def frames(socket) -> list[dict]:
        received = []
        while not await socket.receive_nothing(timeout=0.5):
            received.append(await socket.receive_json_from(timeout=5))
        return received

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        assert (await socket.connect(timeout=5))[0]
        run = database_sync_to_async

        await run(wallet_deposit)(user=user, amount=usd("100.00"), idempotency_key="d")
        assert await frames(socket) == [wallet_frame("100.00")]

        await run(wallet_withdraw)(user=user, amount=usd("30.00"), idempotency_key="w")
        assert await frames(socket) == [wallet_frame("70.00")]

        with pytest.raises(InsufficientFunds):  # refused: nothing moved, nothing said
            await run(wallet_withdraw)(user=user, amount=usd("99.00"), idempotency_key="w2")
        assert await frames(socket) == []

        wallet = await run(wallet_get_or_open)(user=user)
        await run(wallet_adjust)(
            wallet=wallet, amount=usd("5.00"), reason="Goodwill.", actor=finance,
            idempotency_key="a",
        )  # fmt: skip
        assert await frames(socket) == [wallet_frame("75.00")]
        await socket.disconnect()

    async_to_sync(scenario)()
