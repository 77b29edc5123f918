"""Rate limiting by bucket (CONTRACT §0, Rate limits), counters in the Django cache.

Each request counts exactly once, in exactly one bucket chosen by its path:

| bucket    | paths               | limit per minute     | keyed by                          |
|-----------|---------------------|----------------------|-----------------------------------|
| `auth`    | `/api/v1/auth/...`  | `RATE_LIMIT_AUTH`    | client IP                         |
| `ai`      | `/api/v1/ai/...`    | `RATE_LIMIT_AI`      | user (client IP if anonymous)     |
| `general` | every other `/api/` | `RATE_LIMIT_GENERAL` | user (client IP if anonymous)     |

The JWKS document (`/api/v1/auth/.well-known/jwks.json`) is public key material other
services poll: it counts in `general`, so fetching it never spends a client's sign-in budget.

Failed staff sign-ins at `/admin/login/` are counted apart (`throttle_failed_logins`).

A limit of 0 disables the bucket (no counting, no `X-RateLimit-*` headers).

Counting happens in one of two places, never both:
- `BucketRateLimit`, DRF's default throttle: after authentication, so the user is
  known. Over the limit it raises `RateLimitExceeded` (429, `retry_after`, `Retry-After`).
- `RateLimitHeadersMiddleware`, for API requests no throttle counted: unknown URLs,
  401/403 answered before DRF's throttling, 413, non-DRF views. These count per client
  IP (general bucket, or auth under `/api/v1/auth/`). A non-DRF view is counted before
  it runs; otherwise nothing was executed and an over-limit answer becomes a 429.

The middleware writes `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (unix seconds, end of the current window) on every API response.
Exempt: DRF views with no `BucketRateLimit` among their throttles (health probes set
`throttle_classes = []`), CORS preflights, and everything outside `/api/` (`/metrics`,
admin).

Windows are fixed, one minute long, via `django_ratelimit.core.get_usage`; with
REDIS_URL set the counters are shared by every server process.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_ratelimit.core import get_usage
from ipware import get_client_ip
from rest_framework.throttling import BaseThrottle

from perpetua.api.exceptions import RateLimitExceeded
from perpetua.api.handlers import API_PREFIX, json_error
from perpetua.api.hybrid import HybridMiddleware

AUTH_PREFIX = "/api/v1/auth/"
AI_PREFIX = "/api/v1/ai/"
JWKS_PATH = "/api/v1/auth/.well-known/jwks.json"
WINDOW_SECONDS = 60
_USAGE_ATTR = "_ratelimit_usage"  # (limit, remaining, reset) on the Django HttpRequest
_EXEMPT_ATTR = "_ratelimit_exempt"
_SETTING_FOR_BUCKET = {"general": "RATE_LIMIT_GENERAL", "ai": "RATE_LIMIT_AI", "auth": "RATE_LIMIT_AUTH"}
UNKNOWN_CLIENT = "0.0.0.0"  # noqa: S104 -- a bucket key, never bound to

logger = logging.getLogger("perpetua.ratelimit")


def bucket_for_path(path: str) -> str:
    if path == JWKS_PATH:
        return "general"
    if path.startswith(AUTH_PREFIX):
        return "auth"
    if path.startswith(AI_PREFIX):
        return "ai"
    return "general"


def client_ip(request: HttpRequest) -> str:
    """django-ratelimit's RATELIMIT_IP_META_KEY: the client address the per-IP buckets count.

    django-ipware reads RATELIMIT_CLIENT_IP_META_KEY and takes the address
    RATELIMIT_TRUSTED_PROXIES entries from the right: what a client writes itself sits to
    the left of what our proxies append, so it can never pick its own bucket. ipware also
    strips ports and unwraps IPv4-mapped addresses; django-ratelimit then masks IPv6 to
    RATELIMIT_IPV6_MASK. A request without a usable address shares one bucket.
    """
    meta_key = settings.RATELIMIT_CLIENT_IP_META_KEY
    ip = None
    if meta_key != "REMOTE_ADDR":
        ip, _routable = get_client_ip(
            request,
            proxy_count=max(settings.RATELIMIT_TRUSTED_PROXIES, 1) - 1,  # ipware counts the hops left of ours
            request_header_order=[meta_key],
            strict=False,  # entries a client forged on the left are skipped, not a reason to give up
        )
    if ip is None:  # no proxy configured, or the request did not come through it: the peer is the client
        ip, _routable = get_client_ip(request, request_header_order=["REMOTE_ADDR"])
    return ip or UNKNOWN_CLIENT


def count_request(request: HttpRequest, bucket: str, key: str) -> tuple[int, int, int, bool] | None:
    """Count one request in `bucket` by django-ratelimit's `key` ("ip" or "user").

    Returns (limit, remaining, reset, limited); None when the bucket is disabled (limit 0).
    """
    limit = getattr(settings, _SETTING_FOR_BUCKET[bucket])
    if limit <= 0:
        return None
    try:
        usage = get_usage(request, group=bucket, key=key, rate=(limit, WINDOW_SECONDS), increment=True)
    except Exception:  # the shared cache is down: serve unlimited rather than fail every request
        logger.warning("rate-limit counters unavailable; request not counted", exc_info=True)
        return None
    if usage is None:  # RATELIMIT_ENABLE = False
        return None
    now = int(time.time())
    time_left = max(usage["time_left"], 0)
    reset = now + time_left
    remaining = max(limit - usage["count"], 0)
    return limit, remaining, reset, usage["should_limit"]


def _record(django_request: Any, result: tuple[int, int, int, bool] | None) -> None:
    setattr(django_request, _USAGE_ATTR, result[:3] if result else None)


def _retry_after(reset: int) -> int:
    return max(1, math.ceil(reset - time.time()))


class BucketRateLimit(BaseThrottle):
    """DRF throttle (DEFAULT_THROTTLE_CLASSES): runs after authentication."""

    def allow_request(self, request: Any, view: Any) -> bool:
        django_request = getattr(request, "_request", request)
        bucket = bucket_for_path(django_request.path)
        user = request.user
        # DRF has set the same user on the Django request, where django-ratelimit reads it.
        key = "user" if bucket != "auth" and user is not None and user.is_authenticated else "ip"
        result = count_request(django_request, bucket, key)
        _record(django_request, result)
        if result is not None and result[3]:
            raise RateLimitExceeded(retry_after=_retry_after(result[2]))
        return True


def _view_is_throttled_by_drf(view_func: Any) -> bool | None:
    """True: a DRF view whose throttles include BucketRateLimit; False: exempt DRF view;
    None: not a DRF view. Cached on the view function (computed once per route)."""
    cached = getattr(view_func, "_ratelimit_mode", "unset")
    if cached != "unset":
        return cached
    cls = getattr(view_func, "cls", None)
    mode: bool | None = None
    if cls is not None and hasattr(cls, "throttle_classes"):
        initkwargs = getattr(view_func, "initkwargs", None) or {}
        throttles = initkwargs.get("throttle_classes", cls.throttle_classes)
        mode = any(isinstance(t, type) and issubclass(t, BucketRateLimit) for t in throttles)
    with contextlib.suppress(AttributeError, TypeError):
        view_func._ratelimit_mode = mode
    return mode


def _too_many_requests(result: tuple[int, int, int, bool]) -> JsonResponse:
    return json_error(RateLimitExceeded(retry_after=_retry_after(result[2])))


class RateLimitHeadersMiddleware(HybridMiddleware):
    """X-RateLimit-* on every API response; counts requests no DRF throttle counted."""

    def process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        if not request.path.startswith(API_PREFIX):
            return None
        mode = _view_is_throttled_by_drf(view_func)
        if mode is True:
            return None  # BucketRateLimit counts it (or the middleware, if DRF fails before)
        if mode is False:
            setattr(request, _EXEMPT_ATTR, True)
            return None
        # A plain Django view under /api/: count before it runs.
        result = self._count_by_ip(request)
        if result is not None and result[3]:
            return _too_many_requests(result)
        return None

    def _count_by_ip(self, request: Any) -> tuple[int, int, int, bool] | None:
        bucket = "auth" if bucket_for_path(request.path) == "auth" else "general"
        result = count_request(request, bucket, "ip")
        _record(request, result)
        return result

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self._acall(request)
        return self._finish(request, self.get_response(request))

    async def _acall(self, request: Any) -> Any:
        response = await self.get_response(request)
        # The counters are in the cache (a network round-trip with Redis): off the event loop.
        return await sync_to_async(self._finish)(request, response)

    def _finish(self, request: Any, response: Any) -> Any:
        if (
            not request.path.startswith(API_PREFIX)
            or getattr(request, _EXEMPT_ATTR, False)
            # CORS preflights are answered by the CORS middleware and cost the client nothing.
            or (request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META)
        ):
            return response
        try:
            usage = getattr(request, _USAGE_ATTR)
        except AttributeError:
            # Never reached a throttle (unknown URL, 401 before throttling, 413...):
            # nothing ran, so an exhausted client gets a 429 instead.
            result = self._count_by_ip(request)
            if result is not None and result[3]:
                limited = _too_many_requests(result)
                for header, value in response.items():
                    if header.lower().startswith("access-control-") or header in ("Vary", "X-Request-ID"):
                        limited[header] = value
                response = limited
            usage = result[:3] if result else None
        if usage is not None:
            limit, remaining, reset = usage
            response["X-RateLimit-Limit"] = str(limit)
            response["X-RateLimit-Remaining"] = str(remaining)
            response["X-RateLimit-Reset"] = str(reset)
        return response


# --- Staff sign-in: failed admin logins ------------------------------------------------


def _posted_username(group: str, request: HttpRequest) -> str:
    return str(request.POST.get("username", "")).strip().lower()


_ADMIN_LOGIN_KEYS = (("admin-login-ip", "ip"), ("admin-login-user", _posted_username))


def throttle_failed_logins(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap the admin's login view: after ADMIN_LOGIN_MAX_FAILURES failed POSTs from one client
    IP, or for one username, within ADMIN_LOGIN_FAILURE_WINDOW_SECONDS, sign-in answers 429.

    Only failures count (the form shown again with 200; a success redirects), so staff
    signing in normally never meet the limit, and guessing passwords costs the window.
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limit = settings.ADMIN_LOGIN_MAX_FAILURES
        if request.method != "POST" or limit <= 0:
            return view(request, *args, **kwargs)
        rate = (limit, settings.ADMIN_LOGIN_FAILURE_WINDOW_SECONDS)

        def failures(increment: bool) -> list[dict[str, Any]]:
            usages = []
            for group, key in _ADMIN_LOGIN_KEYS:
                with contextlib.suppress(Exception):  # counters down: never lock staff out for that
                    usage = get_usage(request, group=group, key=key, rate=rate, increment=increment)
                    if usage is not None:
                        usages.append(usage)
            return usages

        exhausted = [usage for usage in failures(increment=False) if usage["count"] >= limit]
        if exhausted:
            retry_after = max(max(usage["time_left"] for usage in exhausted), 1)
            response = HttpResponse(
                f"Too many failed sign-ins. Try again in {retry_after} seconds.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200:  # the form again, with its error: a failed attempt
            failures(increment=True)
        return response

    return wrapped
