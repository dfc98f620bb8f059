"""The Redis cache when Redis is away: an empty cache, not an error.

The cache holds nothing the app cannot do without (the rollout flag's cached row, the
API throttles' and the chat's rate-limit counters, metrics counters): PostgreSQL is the
source of truth. Without this, every request that touches the cache (every proposal,
task and dispute call reads the rollout flag through it) answered 500 while Redis was
down or restarting. Here an unreachable Redis reads as misses, and writes are dropped,
so flags are read from the database and rate limits let calls through until Redis is
back. Only connection failures are absorbed; any other Redis error still raises.
"""

import functools
import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .timed_cache import TimedRedisCache

logger = logging.getLogger(__name__)

_AWAY = (RedisConnectionError, RedisTimeoutError)


def _when_away(answer):
    """Run the cache call; if Redis cannot be reached, log it and return `answer(*args)`
    (what an empty cache would have said)."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except _AWAY as error:
                logger.warning("cache %s: Redis is unreachable (%s)", method.__name__, error)
                return answer(*args, **kwargs)

        return wrapper

    return decorate


def _missing_key(key, *args, **kwargs):
    # What Django's backends raise for incr/decr of a key they do not hold.
    raise ValueError(f"Key {key!r} not found.")


class FallbackRedisCache(TimedRedisCache):
    get = _when_away(lambda key, default=None, **kwargs: default)(TimedRedisCache.get)
    get_many = _when_away(lambda keys, **kwargs: {})(TimedRedisCache.get_many)
    has_key = _when_away(lambda *args, **kwargs: False)(TimedRedisCache.has_key)
    add = _when_away(lambda *args, **kwargs: False)(TimedRedisCache.add)
    set = _when_away(lambda *args, **kwargs: None)(TimedRedisCache.set)
    set_many = _when_away(lambda data, *args, **kwargs: list(data))(TimedRedisCache.set_many)
    touch = _when_away(lambda *args, **kwargs: False)(TimedRedisCache.touch)
    delete = _when_away(lambda *args, **kwargs: False)(TimedRedisCache.delete)
    delete_many = _when_away(lambda *args, **kwargs: None)(TimedRedisCache.delete_many)
    incr = _when_away(_missing_key)(TimedRedisCache.incr)
    clear = _when_away(lambda *args, **kwargs: False)(TimedRedisCache.clear)
