"""Django's cache backends with each call timed into
`marketplace_cache_operation_duration_seconds` (`marketplace.observability`). Settings
name them in `CACHES` in place of the plain backends; they behave exactly the same."""

from functools import wraps

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from .observability import CACHE_SECONDS

# The calls that reach the store. The rest (get_or_set, decr, the async twins) are built
# on these, so they are timed through them.
OPERATIONS = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


def _timed(backend):
    def timed_method(operation):
        plain = getattr(backend, operation)
        timer = CACHE_SECONDS.labels(operation=operation)

        @wraps(plain)
        def method(self, *args, **kwargs):
            with timer.time():
                return plain(self, *args, **kwargs)

        return method

    methods = {operation: timed_method(operation) for operation in OPERATIONS}
    return type(f"Timed{backend.__name__}", (backend,), methods)


TimedRedisCache = _timed(RedisCache)
TimedLocMemCache = _timed(LocMemCache)
