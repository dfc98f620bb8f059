"""One settings module, configured from the environment.

With nothing set, the app runs on the embedded default: SQLite (WAL, IMMEDIATE
transactions) and the in-memory channel layer, enough for one process and a demo.
`DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and channels-redis, which is how
production and the test suite run. The names are part of the operators' interface
(CONTRACT.md, "Running it"): keep them stable.
"""

import os
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Numbers are read strictly and checked at start: a bad value refuses to start with a
# message naming the variable, instead of failing later in a payment or a job. Only ASCII
# digits: Python's int() and Decimal() would also take " 1_0", "١٤", "nan" or "inf".
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
_PLAIN_DECIMAL = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Rates are stored on each proposal with 4 decimal places (`Proposal.platform_fee_rate`).
_RATE_QUANTUM = Decimal("0.0001")


def _refuse(name: str, expected: str, raw: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} must be {expected}; got {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number from `minimum` to `maximum` (inclusive; no upper bound if None)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    expected = (
        f"a whole number from {minimum} to {maximum}"
        if maximum is not None
        else f"a whole number of at least {minimum}"
    )
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise _refuse(name, expected, raw)
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        raise _refuse(name, expected, raw)
    return value


def env_rate(name: str, default: str) -> Decimal:
    """A rate from 0 to 1 with at most 4 decimal places (what a proposal can store, so the
    rate shown is the rate kept), returned with exactly 4 places."""
    raw = os.environ.get(name, "").strip() or default
    expected = "a decimal from 0 to 1 with at most 4 decimal places, e.g. 0.10"
    if not _PLAIN_DECIMAL.fullmatch(raw):
        raise _refuse(name, expected, raw)
    value = Decimal(raw)
    if not 0 <= value <= 1 or value != value.quantize(_RATE_QUANTUM):
        raise _refuse(name, expected, raw)
    return value.quantize(_RATE_QUANTUM)


DEBUG = env_flag("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-while-debug-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens, stored as digests with an expiry (`marketplace.core.api_tokens`). Before
    # the core, whose admin replaces knox's token admin.
    "knox",
    # Failed sign-ins counted per account and per client address (SECURITY below).
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djmoney",
    "channels",
    "waffle",
    "django_htmx",
    # Background tasks stored in the database, run by `manage.py db_worker` (TASKS below).
    "django_tasks_db",
    # The apps, from the ground floor up: the core domain (label "marketplace"), then
    # escrow -> proposals -> disputes, legacy beside them; last the project package
    # itself (label "project": demo data, the operations dashboard).
    "marketplace.core",
    "escrow",
    "proposals",
    "disputes",
    "legacy",
    "marketplace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header on every response (SECURE_CSP below).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Latency per route and database timings (`/metrics`); static files are not measured.
    "marketplace.observability.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A lost database connection answers 503 with Retry-After, never a 500.
    "marketplace.core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Sign-in and sign-up pages: the per-address rate of API_THROTTLE_AUTH.
    "marketplace.core.throttling.SignInRateMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
ASGI_APPLICATION = "marketplace.asgi.application"
AUTH_USER_MODEL = "marketplace.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # `csp_nonce` for the admin's and the API docs' few inline tags.
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------

if os.environ.get("DATABASE_URL"):
    # Each server process keeps a pool of connections (Django's psycopg pool): under ASGI
    # every request runs in its own context, so persistent connections (CONN_MAX_AGE)
    # would open a new connection per request. A pooled connection is checked before it
    # is handed out, so one the server dropped (a restart, a killed backend) never fails
    # a request; a request that waits DB_POOL_TIMEOUT seconds for a free connection
    # answers 503 (DatabaseUnavailableMiddleware). Size the pools so that processes times
    # DB_POOL_MAX_SIZE stays below PostgreSQL's max_connections.
    from psycopg_pool import ConnectionPool

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # An unreachable database makes /healthz answer 503 quickly instead of hanging.
            "connect_timeout": 5,
            "pool": {
                "min_size": env_int("DB_POOL_MIN_SIZE", 2, minimum=0),
                "max_size": env_int("DB_POOL_MAX_SIZE", 20),
                "timeout": env_int("DB_POOL_TIMEOUT", 5),
                "check": ConnectionPool.check_connection,
            },
        }
    )
else:
    # The embedded default. IMMEDIATE transactions take SQLite's write lock at BEGIN, so
    # two writers queue instead of failing half-way with "database is locked".
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No socket timeout: redis-py 8 defaults to 5 s, which cuts the layer's
                # own 5 s blocking read (BZPOPMIN) and drops every socket idle that long
                # (channels_redis#422).
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                # A slow consumer cannot grow memory without bound: at most 100 queued
                # frames per channel, dropped after a minute.
                "capacity": 100,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache counts rate limits (API throttles, chat messages): shared through Redis when
# there is one, so limits hold across server processes. Django's backends, with each call
# timed for `/metrics` (`marketplace.timed_cache`).
# While Redis is unreachable it reads as an empty cache (`marketplace.cache_fallback`).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "marketplace.cache_fallback.FallbackRedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "marketplace.timed_cache.TimedLocMemCache"}}

# Background tasks (e-mail) are rows in the database, on PostgreSQL and on the embedded
# default alike: enqueued in the caller's transaction, run by `manage.py db_worker`, which
# `make run` starts beside the server (a production deployment runs it as a service).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

CHAT_MESSAGE_MAX_LENGTH = 5000
CHAT_MESSAGES_PER_MINUTE = env_int("CHAT_MESSAGES_PER_MINUTE", 30, minimum=1)
# While Redis (the counters' cache) is away, chat is not rate limited rather than refused.
RATELIMIT_FAIL_OPEN = True
# The largest websocket frame, in bytes (a 5000-character message in JSON fits easily).
# The server refuses larger ones before reading them: uvicorn's `--ws-max-size 65536`
# (Makefile, README) must say the same; consumers also close with 1009 above it.
WEBSOCKET_MAX_FRAME_BYTES = 65536

# --- Auth, i18n, static ---------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# A page's form refused by the CSRF check gets the site's 403 page, saying the form expired.
CSRF_FAILURE_VIEW = "marketplace.core.api_errors.csrf_failure"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------

# How many proxies (load balancers) in front of the app append to X-Forwarded-For. The
# client address is then the entry that many places from the right, the one the outermost
# proxy saw; entries to its left are whatever the client sent. 0 (the default, no proxy)
# ignores the header. `marketplace.core.throttling.client_address` is the one reader.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)

_THROTTLE_RATE = re.compile(r"[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_throttle_rate(name: str, default: str) -> str:
    """A rate as DRF writes it: requests / period, e.g. `20/min`."""
    raw = os.environ.get(name, "").strip() or default
    if not _THROTTLE_RATE.fullmatch(raw):
        raise _refuse(name, "a rate such as 20/min (per s, min, hour or day)", raw)
    return raw


# Every sign-in and registration request (pages, admin and API) from one client address.
API_THROTTLE_AUTH = env_throttle_rate("API_THROTTLE_AUTH", "20/min")

# Failed sign-ins (page, admin and API token) lock the account, and separately the client
# address, once they reach LOGIN_FAILURE_LIMIT, until LOGIN_LOCKOUT_MINUTES after the last
# one (django-axes; `manage.py axes_reset_username <name>` lifts it early).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1, maximum=1000)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=10080)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "marketplace.core.throttling.client_address"
AXES_USERNAME_CALLABLE = "marketplace.core.throttling.sign_in_account"
AXES_LOCKOUT_CALLABLE = "marketplace.core.throttling.locked_out_response"
# Counters in the shared cache (Redis) where there is one; the embedded default, without
# Redis, keeps them in its database instead of one process's memory.
AXES_HANDLER = (
    "axes.handlers.cache.AxesCacheHandler"
    if REDIS_URL
    else "axes.handlers.database.AxesDatabaseHandler"
)
AXES_ENABLE_ADMIN = False
# No row per successful sign-in.
AXES_DISABLE_ACCESS_LOG = True

# No inline script, style or event handler in the pages: everything comes from our own
# static files. The nonce is for the Django admin's and the API docs' few inline tags.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    # The favicon and Swagger UI's icons are data: URLs.
    "img-src": [CSP.SELF, "data:"],
    # htmx requests and the websockets (same origin).
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- API ------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.core.api_tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, JSON's refusing documents nested too deeply (marketplace.core.api_common).
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.core.api_common.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "COERCE_DECIMAL_TO_STRING": True,
    "EXCEPTION_HANDLER": "marketplace.core.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": API_THROTTLE_AUTH, "messages": "30/min"},
    # DRF's own reading of X-Forwarded-For follows the same count (see client_address).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # Content negotiation by Accept header only: a stray `?format=` is not a 404.
    "URL_FORMAT_OVERRIDE": None,
}
# `POST /api/auth/token` issues a new token on every call; only its digest is stored, it
# expires API_TOKEN_TTL_DAYS later (no sliding renewal), and a user keeps at most
# API_TOKENS_PER_USER live tokens (the oldest go first).
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30, minimum=1, maximum=3650)
API_TOKENS_PER_USER = 10
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
# The OpenAPI schema at /api/schema/ (browsable at /api/docs/). `make lint` lints it with
# Spectral's `spectral:oas` rules, warnings included: every tag an operation uses is
# declared below, and every operation has a description.
SPECTACULAR_SETTINGS = {
    # Several outputs have a `status`; the proposal's keeps one clear name.
    "ENUM_NAME_OVERRIDES": {"ProposalStatusEnum": "proposals.models.Proposal.Status"},
    "TITLE": "Group marketplace API",
    "DESCRIPTION": """\
Hire **groups of freelancers** through chat-based proposals paid through escrow. A buyer
opens a conversation with a group; the group's leader sends a priced proposal; when the
buyer accepts, the price is locked in escrow from the buyer's wallet, and when the buyer
confirms the delivery it is released: the platform fee, the leader's commission and the
member pool shared among the group's members. Either side can open a dispute, which
support staff resolve with a refund, a release or a split.

## Authentication

`POST /api/auth/token` with `{"username", "password"}` answers `{"token"}`. Send it on
every other call as `Authorization: Token <token>`. Each sign-in issues a new token; it
expires `API_TOKEN_TTL_DAYS` after it was issued (30 days by default, no sliding renewal:
sign in again), and a user keeps at most 10 tokens, the oldest dropped first. Only
register, token, the schema and the docs are open to anonymous callers; anything else
without valid credentials answers 401 (`not_authenticated`, or `authentication_failed`
for a bad or expired token). The browser pages use the session cookie (with CSRF).
`DELETE /api/auth/token` signs out: it revokes the token it is sent with (204). Changing
the password revokes every token of the user. Sign-in is rate limited per client address,
and after 10 failed sign-ins (by default) an account, and separately an address, is refused
for 15 minutes even with the right password: 429 `throttled` with `Retry-After`.

## Money

Amounts are decimal **strings** with exactly two places (`"1234.50"`), never floats, and
come with a `currency` (ISO 4217, default `USD`). An input amount with more than two
decimals, zero or negative, not a number, or above `1000000.00` is refused with 400
`invalid_amount` naming the field.

## Errors

Every non-2xx response is JSON with a machine-readable snake_case `code` and a human
`message`:

    {"error": {"code": "insufficient_funds",
               "message": "Available balance 40.00 USD is below the price 100.00 USD."}}

Validation errors (400) add `fields`, the messages by field name. Status codes: 400
invalid input; 401 no or bad credentials; 403 signed in but not allowed (`permission_denied`,
or `new_workflow_disabled` on the proposal, task and dispute endpoints while the rollout
flag is off for the caller); 404 the object does not exist **or is not visible to you**
(existence never leaks); 409 the current state forbids it (the code says which rule); 429
`throttled` (sign-in, registration and messages are rate limited; `Retry-After` says when
to try again). Each operation lists its own codes.

## Idempotency

The POSTs that move money (deposit, withdraw, accept, confirm, cancel and dispute resolve)
take an optional `Idempotency-Key` header: 1 to 100 printable ASCII characters chosen by
the client, one per intended operation (a UUID works). Retrying with the same key and the
same body within 24 hours replays the first successful response, with the header
`Idempotent-Replayed: true`, and moves no money a second time; the same key with another
body or on another endpoint is refused with 409 `idempotency_key_reused`. Keys belong to
the caller: nobody else's key can collide with yours. Only successful responses are
stored, so a refused request (say 409 `insufficient_funds`) may be retried under the same
key. Send a key whenever a retry is possible (timeouts, lost connections).

## Pagination

Lists are paginated, 20 items a page: `?page=N` (from 1), answering
`{"count", "next", "previous", "results": [...]}`, where `next` and `previous` are full
URLs or `null`. A page past the last one is 404.

## Conventions

JSON in, JSON out. A trailing slash is optional on every path. Ids are opaque to clients;
timestamps are ISO 8601 in UTC. The deprecated project and order endpoints answer with
`Deprecation`, `Sunset` and `Link` (`rel="successor-version"`) headers.
""",
    "VERSION": "1.0.0",
    # Relative: the API is served by the host that serves this schema (OpenAPI's default).
    "SERVERS": [{"url": "/", "description": "This server; every path starts with /api/."}],
    # No public support address exists yet: add "email" or "url" here when one does.
    "CONTACT": {"name": "Group marketplace API team"},
    # Every tag an operation uses, in the order the docs show them (a tag is the first
    # segment of the path after /api/; tests/api/test_schema.py checks each is declared).
    "TAGS": [
        {
            "name": "auth",
            "description": "Register an account, sign in for an API token "
            "(`Authorization: Token <token>`) and sign out. Registering and signing in are "
            "open to anonymous callers and rate limited.",
        },
        {"name": "me", "description": "The signed-in account, with its wallet."},
        {
            "name": "wallet",
            "description": "The caller's wallet: balances, the escrow transactions that touch "
            "it, a CSV statement, deposits (sandbox payment provider only) and withdrawals. "
            "Deposits and withdrawals take an `Idempotency-Key`.",
        },
        {
            "name": "ledger",
            "description": "The escrow ledger's hash chain: the latest seal, for anyone signed "
            "in to pin (`manage.py reconcile` recomputes every seal).",
        },
        {
            "name": "groups",
            "description": "Groups of freelancers: discovery by name and skill, creation, "
            "members, leaving, leadership transfer, deletion and the group's wallet. The "
            "creator is the leader and first member; the leader manages the group.",
        },
        {
            "name": "conversations",
            "description": "Chats between a buyer and a group: messages (with system "
            "messages for every proposal event) and read marks. Participants are the buyer "
            "and the group's current members.",
        },
        {
            "name": "notifications",
            "description": "The caller's notifications: the list, the unread count and "
            "marking them read.",
        },
        {
            "name": "proposals",
            "description": "Priced proposals a group's leader sends in a conversation, and "
            "their state machine: accept (the price is locked in escrow), reject, withdraw, "
            "start, deliver, request changes, confirm (the escrow is released), cancel (the "
            "escrow is refunded) and the automatic release. Any other transition is 409 "
            "`invalid_transition`. Behind the `new_workflow` rollout flag.",
        },
        {
            "name": "tasks",
            "description": "The work of an accepted proposal split into tasks the leader "
            "creates and assigns to members; the buyer reads them. Behind the "
            "`new_workflow` rollout flag.",
        },
        {
            "name": "disputes",
            "description": "Disputes the buyer or the leader open on an accepted, in-progress "
            "or delivered proposal (its escrow is frozen), their evidence, and their "
            "resolution by support staff: refund, release or split. Behind the "
            "`new_workflow` rollout flag.",
        },
        {
            "name": "projects",
            "description": "Deprecated: the old projects, kept working and replaced by "
            "conversations and proposals. Responses carry `Deprecation`, `Sunset` and `Link` "
            "headers.",
        },
        {
            "name": "orders",
            "description": "Deprecated: orders on the old projects (no money moves), kept "
            "working and replaced by proposals. Responses carry `Deprecation`, `Sunset` and "
            "`Link` headers.",
        },
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    # drf-spectacular's own enum hook first, then ours (see marketplace.schema_hooks).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "marketplace.schema_hooks.type_nullable_compositions",
        "marketplace.schema_hooks.document_unsupported_media_type",
    ],
    # Swagger UI and ReDoc served from our own static files: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Gradual rollout (django-waffle) ---------------------------------------------------

# The flag "new_workflow" (proposals, tasks, disputes) is managed in the admin: on for
# everyone, a percentage of users, named users, auth groups or marketplace groups
# (`marketplace.core.rollout`). The new workflow is the product: without the flag it is
# on.
WAFFLE_FLAG_MODEL = "waffle.Flag"
WAFFLE_FLAG_DEFAULT = True
WAFFLE_CREATE_MISSING_FLAGS = False

# --- Money ----------------------------------------------------------------------------

CURRENCIES = ("USD", "EUR", "GBP")
DEFAULT_CURRENCY = "USD"
# Rates are frozen on each proposal when it is created; changing them here only affects
# proposals created afterwards.
PLATFORM_FEE_RATE = env_rate("PLATFORM_FEE_RATE", "0.10")
LEADER_COMMISSION_RATE = env_rate("LEADER_COMMISSION_RATE", "0.03")
if PLATFORM_FEE_RATE + LEADER_COMMISSION_RATE >= 1:
    raise ImproperlyConfigured(
        "PLATFORM_FEE_RATE + LEADER_COMMISSION_RATE must be below 1, leaving the members a "
        f"share; got {PLATFORM_FEE_RATE} + {LEADER_COMMISSION_RATE}."
    )
MAX_AMOUNT = Decimal("1000000.00")
PAYMENTS_SANDBOX = env_flag("PAYMENTS_SANDBOX", default=DEBUG)
# The old project/order endpoints: deprecated since, and switched off after.
LEGACY_API_DEPRECATED_ON = date(2026, 11, 26)
LEGACY_API_SUNSET_ON = date(2027, 6, 30)
# Bounded so that release dates (delivery + days) stay far inside the calendar.
ESCROW_AUTO_RELEASE_DAYS = env_int("ESCROW_AUTO_RELEASE_DAYS", 14, minimum=1, maximum=3650)

# --- E-mail ---------------------------------------------------------------------------

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Group marketplace <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
email_host = os.environ.get("EMAIL_HOST", "").strip()
if email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": email_host,
                "port": env_int("EMAIL_PORT", 587, minimum=1, maximum=65535),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_flag("EMAIL_USE_TLS", default=True),
                "timeout": 10,
            },
        }
    }
else:
    # No mail server, in every environment: e-mails are written to the console (stdout).
    # With DEBUG off, each process says so once at start (`marketplace.core.startup`), so
    # Django's deploy check against a development-only backend is silenced: this fallback
    # is deliberate, and an SMTP backend without a host failed on every notification.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    SILENCED_SYSTEM_CHECKS = ["mail.E001"]
# E-mails link back to the site with absolute URLs when this is set.
SITE_URL = os.environ.get("SITE_URL", "")

# --- Production hardening (`manage.py check --deploy` is clean with DEBUG off) ----------

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe health over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# One line per money operation under the `escrow.operations` logger; LOG_FORMAT=json
# writes every line as a JSON object with the operation's fields.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "marketplace.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            **({"formatter": "json"} if os.environ.get("LOG_FORMAT") == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Metrics (`/metrics`, `/admin/metrics/`) -------------------------------------------

# `/metrics` answers staff sessions, or `Authorization: Bearer <METRICS_TOKEN>` when set.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Several server processes (`uvicorn --workers N`) add up their request, database and
# cache figures through prometheus_client's files in this directory, which the script
# starting the server empties first; unset, each process keeps its own in memory
# (`marketplace.observability`). prometheus_client reads the variable itself: checked here
# so that a wrong path stops the start instead of failing every request.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR and not os.path.isdir(PROMETHEUS_MULTIPROC_DIR):
    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR must be an existing directory; got {PROMETHEUS_MULTIPROC_DIR!r}."
    )
