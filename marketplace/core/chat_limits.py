"""How fast one user may chat: one counter per user and kind of action, whatever the way in.

Messages are counted inside `services.message_send`, so the chat page's form, the API and
the websocket share one budget (`CHAT_MESSAGES_PER_MINUTE`); the websocket also counts
its typing and read frames here. The counters live in the default cache, which is Redis
whenever `REDIS_URL` is set, so every server process sees the same counts. Windows are
fixed minutes (django-ratelimit, staggered per user): within any one window a user gets
at most the limit, so across a window's edge at most twice the limit in a short burst.
"""

from django.conf import settings
from django_ratelimit.core import get_usage

from .errors import DomainError

MESSAGE, TYPING, READ = "message", "typing", "read"

# Typing and read frames per minute. The chat page sends typing at most every 2 s and
# reads at most once a second; these leave room for a second tab.
TYPING_PER_MINUTE = 60
READS_PER_MINUTE = 120


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def _per_minute(action: str) -> int:
    if action == MESSAGE:
        return settings.CHAT_MESSAGES_PER_MINUTE
    return {TYPING: TYPING_PER_MINUTE, READ: READS_PER_MINUTE}[action]


_WHAT = {MESSAGE: "messages", TYPING: "typing notices", READ: "read notices"}


def chat_rate_usage(*, user_id: int, action: str, count: bool) -> dict | None:
    """django-ratelimit's usage of the user's current window (`count`, `limit`,
    `should_limit`, `time_left` in seconds), counting one more `action` when `count`."""
    return get_usage(
        None,
        group=f"chat.{action}",
        key=lambda _group, _request: str(user_id),
        rate=(_per_minute(action), 60),
        increment=count,
    )


def chat_rate_check(*, user_id: int, action: str) -> None:
    """Count one `action` of the user; raise `RateLimited` when it is over the limit."""
    usage = chat_rate_usage(user_id=user_id, action=action, count=True)
    if usage is not None and usage["should_limit"]:
        retry_after = max(usage["time_left"], 1)
        raise RateLimited(
            f"You are sending {_WHAT[action]} too fast: at most {_per_minute(action)} a minute. "
            f"Try again in {retry_after} s.",
            retry_after=retry_after,
        )
