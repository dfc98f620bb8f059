"""Websocket tests talk to the real ASGI application through Channels'
`WebsocketCommunicator`, over the real channels-redis layer. They are transactional: the
consumer reads the database from its own thread."""

import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from marketplace.asgi import application
from marketplace.core.chat_limits import MESSAGE, chat_rate_usage
from tests.conftest import issue_token
from tests.factories import ConversationFactory, GroupFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each scenario runs in its own event loop; channels-redis keeps asyncio locks bound
    to the loop that first waited on them, so every test gets a new layer instance."""
    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


def run(coroutine_function):
    """Run an async scenario from a sync test."""
    return async_to_sync(coroutine_function)()


def db(function, *args, **kwargs):
    """Await a sync database call from a scenario."""
    return database_sync_to_async(function)(*args, **kwargs)


def token_headers(user) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Token {issue_token(user)}".encode())]


async def connect(path: str, headers=()) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


@pytest.fixture
def chat(transactional_db):
    """A buyer, a group (leader + member) and their conversation, with token headers."""
    buyer, member = UserFactory(username="buyer"), UserFactory(username="member")
    group = GroupFactory(leader=UserFactory(username="leader"), members=[member])
    conversation = ConversationFactory(product_owner=buyer, group=group)

    class Chat:
        pass

    chat = Chat()
    chat.buyer, chat.member, chat.leader, chat.group, chat.conversation = (
        buyer,
        member,
        group.leader,
        group,
        conversation,
    )
    chat.path = f"/ws/conversations/{conversation.pk}/"
    chat.headers = {user.username: token_headers(user) for user in (buyer, member, group.leader)}
    return chat


def with_room_in_the_rate_window(user, action: str = MESSAGE, room: float = 15) -> None:
    """The chat limits count in fixed minutes (staggered per user): a test that counts up
    to a limit first waits out a window that would end within `room` seconds."""
    usage = chat_rate_usage(user_id=user.pk, action=action, count=False)
    if usage["time_left"] < room:
        time.sleep(usage["time_left"] + 1)
