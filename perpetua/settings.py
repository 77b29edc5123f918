"""One settings module, driven by the environment (CONTRACT §17).

Every secret, limit and cost is read here with its contract default; `.env.example`
lists the same names. Nothing else in the project reads `os.environ`.
"""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` (created by `make run`) configures development; the test suite ignores it.
if (BASE_DIR / ".env").is_file() and "pytest" not in sys.modules:
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Django basics -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
# Under pytest the suite supplies its own keys and fake services (see conftest.py).
TESTING = env.bool("TESTING", default="pytest" in sys.modules)
SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-change-me" if DEBUG or TESTING else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "corsheaders",
    "django_prometheus",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "perpetua.api",
    "accounts",
    "tasks",
    "notes",
    "ai",
    "billing",
    "credits",
    "gamification",
    "recovery",
    "notifications",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "perpetua.api.request_id.RequestIdMiddleware",
    "perpetua.api.headers.PrivateResponseMiddleware",
    "perpetua.api.ratelimit.RateLimitHeadersMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "perpetua.api.site_only.SiteOnlyMiddleware",  # SITE_ONLY_MIDDLEWARE, for every path outside /api/
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "perpetua.api.handlers.ApiErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# What only the admin needs (sessions, CSRF, its sign-in, messages), in this order; skipped for
# /api/ requests (perpetua/api/site_only.py: ~200 µs of CPU per API request).
SITE_ONLY_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "perpetua.urls"
ASGI_APPLICATION = "perpetua.asgi.application"
WSGI_APPLICATION = "perpetua.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite embedded default, PostgreSQL (pooled) in production and tests ---
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=20),
            # A request waits this long for a connection, then answers 503 SERVICE_UNAVAILABLE
            # (all connections busy, or PostgreSQL down: the pool reconnects in the background).
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
            # A lost connection is retried with backoff (1, 2, 4 ... s) for this long, then on
            # demand: bounds how long the pool can be slow to notice PostgreSQL is back.
            "reconnect_timeout": env.float("DATABASE_POOL_RECONNECT_TIMEOUT", default=30.0),
        }
    # Each checkout first pings the connection (one empty round-trip; Django passes psycopg's
    # ConnectionPool.check_connection to the pool), so connections that died with a PostgreSQL
    # restart are replaced instead of failing one request each.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
    # Seconds to wait for PostgreSQL to accept a new connection (libpq; a dead host, not a refusal).
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    # Server-side parameter binding: no client-side quoting, and psycopg prepares a statement
    # the Nth time a pooled connection runs it (PostgreSQL then skips parsing and planning).
    # ~5 % less CPU per request on the mixed workload (bench/README.md). Turn it off behind a
    # transaction-pooling proxy (PgBouncer < 1.21), which cannot keep prepared statements.
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=env.int("DATABASE_PREPARE_THRESHOLD", default=5)
        )
# The embedded default: SQLite ignores the deferrable unique constraint of subtask order.
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
_SQLITE_SILENCED = ["models.W038"] if _SQLITE else []
# `check --deploy` warnings that are the deployment's decision, not the code's (each one is
# settable through the environment, see HTTPS hardening below; perpetua/tests/test_deploy_check.py):
# - W008 SECURE_SSL_REDIRECT: the TLS terminator in front redirects http to https; behind it
#   every request reaches us as plain http, so redirecting here would loop unless
#   SECURE_PROXY_SSL_HEADER is set too, and plain-http health probes must answer.
# - W005 SECURE_HSTS_INCLUDE_SUBDOMAINS, W021 SECURE_HSTS_PRELOAD: promises about every
#   subdomain of the site's domain (preload is near-irreversible); only its owner can make them.
_DEPLOY_SILENCED = ["security.W008", "security.W005", "security.W021"]
# Django looks for the admin's session, CSRF, auth and messages middleware in MIDDLEWARE only;
# they are in SITE_ONLY_MIDDLEWARE, which perpetua.api.site_only's own check (api.E001) covers.
_DEPLOY_SILENCED += ["admin.E408", "admin.E409", "admin.E410", "security.W003"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache, rate-limit counters and Channels layer: local memory unless REDIS_URL ----
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Django's Redis backend with its client built once (perpetua/api/cache.py: measured 2x cheaper per call).
    # A Redis that stops answering costs each cache call at most REDIS_TIMEOUT_SECONDS; then the
    # callers fall back (rate limits fail open, the auth cache reads the database).
    _REDIS_TIMEOUT = env.float("REDIS_TIMEOUT_SECONDS", default=1.0)
    CACHES = {
        "default": {
            "BACKEND": "perpetua.api.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_timeout": _REDIS_TIMEOUT, "socket_connect_timeout": _REDIS_TIMEOUT},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    SILENCED_SYSTEM_CHECKS: list[str] = [*_DEPLOY_SILENCED, *_SQLITE_SILENCED]
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "perpetua"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # django-ratelimit wants a shared cache; local memory is only the embedded default.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001", *_DEPLOY_SILENCED, *_SQLITE_SILENCED]

# The token's user and session, cached for this long (accounts.selectors; 0 = one query per
# request). Logout, refresh-token reuse, tier and profile changes, deactivation and deletion
# invalidate it at once in the shared cache, which every process sees; a process-local cache
# could not be reached by the others (a second server, the worker, cron), so it needs Redis.
AUTH_CACHE_SECONDS = env.int("AUTH_CACHE_SECONDS", default=60 if REDIS_URL else 0)
# How long an invalidated user stays uncacheable: longer than a request takes to read and fill.
AUTH_CACHE_STALE_SECONDS = env.int("AUTH_CACHE_STALE_SECONDS", default=60)
if AUTH_CACHE_SECONDS and not REDIS_URL and not TESTING:
    raise ImproperlyConfigured("AUTH_CACHE_SECONDS needs REDIS_URL: other processes cannot invalidate a local cache")

# --- Job queue (django-tasks with its database backend) ------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=5)
JOB_RETRY_BASE_SECONDS = env.int("JOB_RETRY_BASE_SECONDS", default=30)
JOB_RESULT_RETENTION_DAYS = env.int("JOB_RESULT_RETENTION_DAYS", default=7)
# Workers look for jobs left RUNNING by a dead worker on start and then this often, and re-queue
# them: on PostgreSQL at once (the dead worker's advisory lock is gone), else (and for a hung
# worker) once they have run longer than JOB_STALE_AFTER_SECONDS (0: never by age).
JOB_REQUEUE_CHECK_SECONDS = env.float("JOB_REQUEUE_CHECK_SECONDS", default=15.0)
JOB_STALE_AFTER_SECONDS = env.int("JOB_STALE_AFTER_SECONDS", default=900)

# --- Internationalisation / time -----------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Threads per server process running Django requests, and streaming responses (server-sent
# events) that may each hold a thread of their own beyond those (see perpetua/asgi_http.py).
HTTP_THREADS = env.int("HTTP_THREADS", default=8)
HTTP_MAX_STREAMS = env.int("HTTP_MAX_STREAMS", default=200)
# The server's own limits and deadlines (perpetua/server.py): request line + headers, header
# count, time to send the head and the body, idle keep-alive, connections + requests in flight.
HTTP_MAX_HEADER_BYTES = env.int("HTTP_MAX_HEADER_BYTES", default=32_768)
HTTP_MAX_HEADERS = env.int("HTTP_MAX_HEADERS", default=100)
HTTP_HEAD_TIMEOUT_SECONDS = env.float("HTTP_HEAD_TIMEOUT_SECONDS", default=10.0)
HTTP_BODY_TIMEOUT_SECONDS = env.float("HTTP_BODY_TIMEOUT_SECONDS", default=60.0)
HTTP_KEEP_ALIVE_SECONDS = env.int("HTTP_KEEP_ALIVE_SECONDS", default=5)
HTTP_LIMIT_CONCURRENCY = env.int("HTTP_LIMIT_CONCURRENCY", default=1000)
HTTP_GRACEFUL_SHUTDOWN_SECONDS = env.int("HTTP_GRACEFUL_SHUTDOWN_SECONDS", default=30)

# --- Request size ------------------------------------------------------------------
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# Query-string / form parameters and uploaded files per request; more is a 400 VALIDATION_ERROR.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=1000)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=100)

# --- Bounds on what a request can make us do and answer ------------------------------
ERROR_MAX_DETAILS = env.int("ERROR_MAX_DETAILS", default=20)
ERROR_MESSAGE_MAX_LENGTH = env.int("ERROR_MESSAGE_MAX_LENGTH", default=200)
# Most elements one JSON array or object in a request body may hold (checked before validation).
JSON_MAX_ITEMS = env.int("JSON_MAX_ITEMS", default=1000)
# Date-times in a request body outside these years (UTC, inclusive) are a 400 (perpetua.api.serializers).
DATETIME_MIN_YEAR = env.int("DATETIME_MIN_YEAR", default=2000)
DATETIME_MAX_YEAR = env.int("DATETIME_MAX_YEAR", default=2100)

# --- CORS -------------------------------------------------------------------------
# Unset: the SPA's dev server (Next.js, port 3000) in development and tests; no origin in
# production, where the SPA's origins must be listed.
SPA_DEV_ORIGINS = ["http://localhost:3000", "http://127.0.0.1:3000"]
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=SPA_DEV_ORIGINS if DEBUG or TESTING else [])
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
    "Idempotent-Replayed",
    "Deprecation",
    "Sunset",
    "Link",
]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
    "x-task-id",
]

# --- DRF / OpenAPI -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["perpetua.api.ratelimit.BucketRateLimit"],
    "DEFAULT_RENDERER_CLASSES": ["perpetua.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["perpetua.api.parsers.JSONParser"],
    "DEFAULT_METADATA_CLASS": "perpetua.api.metadata.Metadata",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "perpetua.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "perpetua.api.pagination.OffsetPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "perpetua.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "perpetua.api.handlers.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 25,
}
PAGINATION_DEFAULT_LIMIT = env.int("PAGINATION_DEFAULT_LIMIT", default=25)
PAGINATION_MAX_LIMIT = env.int("PAGINATION_MAX_LIMIT", default=100)

SPECTACULAR_SETTINGS = {
    "TITLE": "Perpetua API",
    "DESCRIPTION": "AI-assisted task management. Errors share one shape: "
    '`{"error": {"code", "message", "details"?, "request_id"}}`.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "perpetua.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AchievementCategoryEnum": "gamification.models.Category",
        "AchievementPerkTypeEnum": "gamification.models.PerkType",
        "ReminderTypeEnum": "tasks.models.ReminderType",
        "ReminderMethodEnum": "tasks.models.ReminderMethod",
        "SubscriptionStatusEnum": "billing.models.SubscriptionStatus",
        "PurchaseStatusEnum": ["pending"],
        "AIActionTypeEnum": "ai.models.ActionType",
    },
}

# --- Auth: JWT access tokens (RS256) and opaque refresh tokens (CONTRACT §1) ---------
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="", multiline=True)
JWT_PUBLIC_KEY = env.str("JWT_PUBLIC_KEY", default="", multiline=True)
JWT_KEY_ID = env.str("JWT_KEY_ID", default="")
JWT_PREVIOUS_PUBLIC_KEY = env.str("JWT_PREVIOUS_PUBLIC_KEY", default="", multiline=True)
JWT_PREVIOUS_KEY_ID = env.str("JWT_PREVIOUS_KEY_ID", default="")
JWT_DEV_KEY_FILE = env.path("JWT_DEV_KEY_FILE", default=BASE_DIR / ".jwt-dev-key.pem")
JWT_ISSUER = env.str("JWT_ISSUER", default="perpetua")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="perpetua-api")
JWT_ACCESS_TTL_MINUTES = env.int("JWT_ACCESS_TTL_MINUTES", default=15)
JWT_REFRESH_TTL_DAYS = env.int("JWT_REFRESH_TTL_DAYS", default=7)
REFRESH_COOKIE_NAME = env.str("REFRESH_COOKIE_NAME", default="perpetua_refresh")
REFRESH_COOKIE_SECURE = env.bool("REFRESH_COOKIE_SECURE", default=True)

GOOGLE_CLIENT_IDS = env.list("GOOGLE_CLIENT_IDS", default=[])
GOOGLE_CERTS_URL = env.str("GOOGLE_CERTS_URL", default="https://www.googleapis.com/oauth2/v1/certs")
GOOGLE_CERTS_TIMEOUT_SECONDS = env.float("GOOGLE_CERTS_TIMEOUT_SECONDS", default=5.0)
# Used when Google's certs response carries no Cache-Control max-age.
GOOGLE_CERTS_MIN_REFETCH_SECONDS = env.int("GOOGLE_CERTS_MIN_REFETCH_SECONDS", default=30)
GOOGLE_CERTS_DEFAULT_MAX_AGE_SECONDS = env.int("GOOGLE_CERTS_DEFAULT_MAX_AGE_SECONDS", default=300)

# --- Outside services ----------------------------------------------------------------
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="https://api.openai.com/v1")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
AI_TIMEOUT_SECONDS = env.float("AI_TIMEOUT_SECONDS", default=30.0)
# Retries of a failed provider request (5xx, connection error) inside AI_TIMEOUT_SECONDS; the
# openai client's own default (2) could triple a slow failure, so it is chosen here.
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=1)
# Model round-trips one AI call may take (tool calls count): bounds what one credit buys.
AI_MAX_TURNS = env.int("AI_MAX_TURNS", default=4)
# The Agents SDK's tracing exports to OpenAI's platform: off unless asked for.
AI_TRACING_ENABLED = env.bool("AI_TRACING_ENABLED", default=False)
DEEPGRAM_API_KEY = env.str("DEEPGRAM_API_KEY", default="")
DEEPGRAM_BASE_URL = env.str("DEEPGRAM_BASE_URL", default="wss://api.deepgram.com")
TRANSCRIBE_ALLOWED_HOSTS = env.list("TRANSCRIBE_ALLOWED_HOSTS", default=[])
# The voice relay (CONTRACT §9): largest audio frame relayed, and how long a socket may wait for its `auth` message.
VOICE_MAX_FRAME_BYTES = env.int("VOICE_MAX_FRAME_BYTES", default=32768)
VOICE_AUTH_TIMEOUT_SECONDS = env.float("VOICE_AUTH_TIMEOUT_SECONDS", default=10.0)
CHECKOUT_SECRET_KEY = env.str("CHECKOUT_SECRET_KEY", default="")
CHECKOUT_WEBHOOK_SECRET = env.str("CHECKOUT_WEBHOOK_SECRET", default="")
CHECKOUT_BASE_URL = env.str("CHECKOUT_BASE_URL", default="https://api.checkout.com")
CHECKOUT_PRO_PRICE_ID = env.str("CHECKOUT_PRO_PRICE_ID", default="")
# Checkout.com NAS accounts route payments through a processing channel (`pc_...`); empty: not sent.
CHECKOUT_PROCESSING_CHANNEL_ID = env.str("CHECKOUT_PROCESSING_CHANNEL_ID", default="")
CHECKOUT_TIMEOUT_SECONDS = env.float("CHECKOUT_TIMEOUT_SECONDS", default=10.0)
# Where the hosted payment page sends the customer back (the SPA's pages).
CHECKOUT_SUCCESS_URL = env.str("CHECKOUT_SUCCESS_URL", default="http://localhost:3000/dashboard/subscription/success")
CHECKOUT_CANCEL_URL = env.str("CHECKOUT_CANCEL_URL", default="http://localhost:3000/dashboard/pricing")
CHECKOUT_FAILURE_URL = env.str("CHECKOUT_FAILURE_URL", default="http://localhost:3000/dashboard/pricing")
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="", multiline=True)
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="", multiline=True)
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:admin@perpetua.local")
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=86400)
PUSH_TIMEOUT_SECONDS = env.float("PUSH_TIMEOUT_SECONDS", default=10.0)
# Browsers per user that receive pushes; registering one more drops the least recently registered.
PUSH_MAX_SUBSCRIPTIONS_PER_USER = env.int("PUSH_MAX_SUBSCRIPTIONS_PER_USER", default=10)
# The only hosts a subscription's endpoint may name (notifications.endpoints): the push services
# of Chrome/Edge-Chromium/Opera/Samsung (FCM), Firefox (autopush), Edge on Windows (WNS) and
# Safari (Apple). `*.example.com` matches below a dot; an IP literal matches itself and skips the
# public-address check (tests' fake push service only).
BROWSER_PUSH_SERVICES = [
    "fcm.googleapis.com",
    "updates.push.services.mozilla.com",
    "*.push.services.mozilla.com",
    "*.notify.windows.com",
    "web.push.apple.com",
    "*.push.apple.com",
]
PUSH_ALLOWED_HOSTS = env.list("PUSH_ALLOWED_HOSTS", default=BROWSER_PUSH_SERVICES)
# Not read from the environment: no deployment can turn plain-http push endpoints on; tests
# that talk to the fake push service on http://127.0.0.1 set it off (with PUSH_ALLOWED_HOSTS).
PUSH_REQUIRE_HTTPS = True

# --- Rate limits (per minute; 0 disables) and operations ---------------------------
RATE_LIMIT_GENERAL = env.int("RATE_LIMIT_GENERAL", default=100)
RATE_LIMIT_AI = env.int("RATE_LIMIT_AI", default=20)
RATE_LIMIT_AUTH = env.int("RATE_LIMIT_AUTH", default=10)
# The per-IP buckets' client address: django-ipware reads it from this request.META key,
# RATELIMIT_TRUSTED_PROXIES entries from the right (perpetua.api.ratelimit.client_ip);
# django-ratelimit calls that function and masks IPv6 clients to their /64.
RATELIMIT_CLIENT_IP_META_KEY = env.str("RATELIMIT_CLIENT_IP_META_KEY", default="REMOTE_ADDR")
RATELIMIT_TRUSTED_PROXIES = env.int("RATELIMIT_TRUSTED_PROXIES", default=1)
RATELIMIT_IP_META_KEY = "perpetua.api.ratelimit.client_ip"
RATELIMIT_IPV4_MASK = 32
RATELIMIT_IPV6_MASK = 64
if env.ENVIRON.get("RATELIMIT_IP_META_KEY", "REMOTE_ADDR") != "REMOTE_ADDR":
    # The retired name: ignoring it would silently count every client behind the proxy as one.
    raise ImproperlyConfigured("RATELIMIT_IP_META_KEY was renamed RATELIMIT_CLIENT_IP_META_KEY")
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)
# One readiness run answers every probe of a process for this long (probes cannot amplify).
HEALTH_CHECK_CACHE_SECONDS = env.float("HEALTH_CHECK_CACHE_SECONDS", default=1.0)
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)
# Longer than any request can run (AI calls time out at 30 s): an older in-flight key was abandoned.
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS", default=120)

# --- Tier limits (CONTRACT §16) ------------------------------------------------------
FREE_MAX_TASKS = env.int("FREE_MAX_TASKS", default=50)
PRO_MAX_TASKS = env.int("PRO_MAX_TASKS", default=200)
FREE_MAX_SUBTASKS = env.int("FREE_MAX_SUBTASKS", default=4)
PRO_MAX_SUBTASKS = env.int("PRO_MAX_SUBTASKS", default=10)
FREE_MAX_DESCRIPTION_LENGTH = env.int("FREE_MAX_DESCRIPTION_LENGTH", default=1000)
PRO_MAX_DESCRIPTION_LENGTH = env.int("PRO_MAX_DESCRIPTION_LENGTH", default=2000)
FREE_MAX_NOTES = env.int("FREE_MAX_NOTES", default=10)
PRO_MAX_NOTES = env.int("PRO_MAX_NOTES", default=25)
MAX_VOICE_DURATION_SECONDS = env.int("MAX_VOICE_DURATION_SECONDS", default=300)
MAX_TASK_DUE_DAYS = env.int("MAX_TASK_DUE_DAYS", default=30)
MAX_REMINDERS_PER_TASK = env.int("MAX_REMINDERS_PER_TASK", default=5)
REMINDER_MAX_OFFSET_MINUTES = env.int("REMINDER_MAX_OFFSET_MINUTES", default=43200)  # 30 days
TEMPLATE_DTSTART_MAX_DAYS = env.int("TEMPLATE_DTSTART_MAX_DAYS", default=366)
TEMPLATE_DTSTART_MAX_AHEAD_DAYS = env.int("TEMPLATE_DTSTART_MAX_AHEAD_DAYS", default=1830)
# Every occurrence search stops this far after its start (an occurrence beyond counts as
# none; 1500 > 1461, the longest gap of a Feb-29 rule) and after this many steps of the
# walk (one per period of a monthly or yearly rule, per calendar month of a daily or weekly one).
RRULE_SEARCH_HORIZON_DAYS = env.int("RRULE_SEARCH_HORIZON_DAYS", default=1500)
RRULE_MAX_ITERATIONS = env.int("RRULE_MAX_ITERATIONS", default=600)
MAX_TASK_DUE_PAST_DAYS = env.int("MAX_TASK_DUE_PAST_DAYS", default=366)
REMINDER_MAX_AHEAD_DAYS = env.int("REMINDER_MAX_AHEAD_DAYS", default=366)
MAX_TOMBSTONES = env.int("MAX_TOMBSTONES", default=3)
TOMBSTONE_TTL_DAYS = env.int("TOMBSTONE_TTL_DAYS", default=30)
FOCUS_COMPLETION_RATIO = env.float("FOCUS_COMPLETION_RATIO", default=0.5)
ACTIVITY_RETENTION_DAYS = env.int("ACTIVITY_RETENTION_DAYS", default=30)
REVOKED_TOKEN_RETENTION_DAYS = env.int("REVOKED_TOKEN_RETENTION_DAYS", default=7)

# --- Credits and AI costs (CONTRACT §8, §10) -------------------------------------------
KICKSTART_CREDITS = env.int("KICKSTART_CREDITS", default=5)
PRO_DAILY_CREDITS = env.int("PRO_DAILY_CREDITS", default=10)
PRO_SUBSCRIPTION_CREDITS = env.int("PRO_SUBSCRIPTION_CREDITS", default=100)
SUBSCRIPTION_CARRYOVER_MAX = env.int("SUBSCRIPTION_CARRYOVER_MAX", default=50)
MAX_PURCHASED_CREDITS_PER_MONTH = env.int("MAX_PURCHASED_CREDITS_PER_MONTH", default=500)
AI_COST_CHAT = env.int("AI_COST_CHAT", default=1)
AI_COST_SUBTASKS = env.int("AI_COST_SUBTASKS", default=1)
AI_COST_NOTE_CONVERT = env.int("AI_COST_NOTE_CONVERT", default=1)
AI_COST_TRANSCRIBE_PER_MINUTE = env.int("AI_COST_TRANSCRIBE_PER_MINUTE", default=5)
AI_TASK_WARNING_FROM = env.int("AI_TASK_WARNING_FROM", default=5)
AI_TASK_MAX_REQUESTS = env.int("AI_TASK_MAX_REQUESTS", default=10)
AI_MAX_TASK_CONTEXT = env.int("AI_MAX_TASK_CONTEXT", default=50)

# --- Subscriptions (CONTRACT §12) ------------------------------------------------------
PAST_DUE_MAX_FAILURES = env.int("PAST_DUE_MAX_FAILURES", default=3)
GRACE_PERIOD_DAYS = env.int("GRACE_PERIOD_DAYS", default=3)
SUBSCRIPTION_PERIOD_DAYS = env.int("SUBSCRIPTION_PERIOD_DAYS", default=30)
# Prices in minor units of BILLING_CURRENCY: Pro per period, and one purchased credit.
BILLING_CURRENCY = env.str("BILLING_CURRENCY", default="USD")
PRO_PRICE_AMOUNT = env.int("PRO_PRICE_AMOUNT", default=999)
CREDIT_PRICE_AMOUNT = env.int("CREDIT_PRICE_AMOUNT", default=10)
# A declined renewal is tried again by check_subscriptions once this much time has passed.
RENEWAL_RETRY_HOURS = env.int("RENEWAL_RETRY_HOURS", default=24)
# Processed Checkout.com events are kept this long (purge_expired), then deleted.
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=90)

# --- Logging: JSON lines carrying the request id ------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_JSON = env.bool("LOG_JSON", default=not DEBUG)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "perpetua.api.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "perpetua.api.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if LOG_JSON else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR", "propagate": True},
        "django.server": {"level": "WARNING", "propagate": True},
    },
}

# --- HTTPS hardening (SecurityMiddleware). HSTS is sent only on requests that arrived over
# https: behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER (e.g.
# `HTTP_X_FORWARDED_PROTO,https`) so Django knows, and make sure the proxy overwrites that header.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Off by default: the TLS terminator redirects, and plain-http health probes must still answer.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/"]
_PROXY_SSL_HEADER = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _PROXY_SSL_HEADER and len(_PROXY_SSL_HEADER) != 2:
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is `HEADER,value`, e.g. HTTP_X_FORWARDED_PROTO,https")
SECURE_PROXY_SSL_HEADER = tuple(_PROXY_SSL_HEADER) if _PROXY_SSL_HEADER else None
# The admin's session and CSRF cookies travel over https only, unless DEBUG.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Failed staff sign-ins at /admin/login/, per client IP and per username, before a 429.
ADMIN_LOGIN_MAX_FAILURES = env.int("ADMIN_LOGIN_MAX_FAILURES", default=5)
ADMIN_LOGIN_FAILURE_WINDOW_SECONDS = env.int("ADMIN_LOGIN_FAILURE_WINDOW_SECONDS", default=900)
