"""The frames of one transaction go out together after commit, in order per stream; a
savepoint that rolls back takes its frames with it; nothing goes out before commit or
after a rollback. Over the real channels-redis layer."""

import pytest
from django.db import transaction

from marketplace.core import events
from tests.streams import listen

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listener():
    """Drains what reached conversation 1 and user 2."""
    return listen(events.conversation_stream(1), events.user_stream(2))


@pytest.fixture
def flushes(monkeypatch):
    """How many hops to the channel layer the transactions made."""
    calls = []
    send_all = events._send_all

    async def counting(frames):
        calls.append(len(frames))
        await send_all(frames)

    monkeypatch.setattr(events, "_send_all", counting)
    return calls


def test_a_transactions_frames_go_out_once_after_commit_in_order(listener, flushes):
    with transaction.atomic():
        events.publish_to_conversation(1, {"type": "a"})
        events.publish_to_user(2, {"type": "b"})
        events.publish_to_conversation(1, {"type": "c"})
        assert flushes == []  # nothing before commit

    assert flushes == [3]
    assert sorted(frame["type"] for frame in listener()) == ["a", "b", "c"]


def test_a_streams_frames_keep_their_order(listener):
    with transaction.atomic():
        for number in range(5):
            events.publish_to_conversation(1, {"type": "n", "number": number})

    assert [frame["number"] for frame in listener()] == [0, 1, 2, 3, 4]


def test_a_rolled_back_savepoint_takes_only_its_own_frames(listener, flushes):
    with transaction.atomic():
        events.publish_to_conversation(1, {"type": "before"})
        try:
            with transaction.atomic():
                events.publish_to_conversation(1, {"type": "rolled back"})
                raise RuntimeError
        except RuntimeError:
            pass
        events.publish_to_user(2, {"type": "after"})

    assert flushes == [2]
    assert sorted(frame["type"] for frame in listener()) == ["after", "before"]


def test_frames_survive_when_the_last_savepoint_rolls_back(listener, flushes):
    with transaction.atomic():
        events.publish_to_conversation(1, {"type": "kept"})
        try:
            with transaction.atomic():
                events.publish_to_user(2, {"type": "rolled back"})
                raise RuntimeError
        except RuntimeError:
            pass

    assert flushes == [1]
    assert [frame["type"] for frame in listener()] == ["kept"]


def test_a_rolled_back_transaction_sends_nothing_and_leaves_nothing_behind(listener, flushes):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.publish_to_conversation(1, {"type": "never"})
        raise RuntimeError

    with transaction.atomic():
        events.publish_to_user(2, {"type": "next"})

    assert flushes == [1]
    assert [frame["type"] for frame in listener()] == ["next"]


def test_outside_a_transaction_a_frame_goes_out_at_once(listener, flushes):
    events.publish_to_user(2, {"type": "now"})

    assert flushes == [1]
    assert [frame["type"] for frame in listener()] == ["now"]


def test_a_frame_published_by_an_after_commit_callback_loses_no_pending_frame(listener):
    """A callback that runs after commit publishes at once, between the transaction's
    frames being added and their flush: both reach the stream."""
    with transaction.atomic():
        transaction.on_commit(lambda: events.publish_to_user(2, {"type": "after commit"}))
        events.publish_to_conversation(1, {"type": "in the transaction"})
        events.publish_to_user(2, {"type": "also in the transaction"})

    assert sorted(frame["type"] for frame in listener()) == [
        "after commit",
        "also in the transaction",
        "in the transaction",
    ]
