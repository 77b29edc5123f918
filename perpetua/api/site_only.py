"""Middleware only the HTML site (admin, its login) needs, skipped for `/api/` requests.

Sessions, CSRF, Django's session authentication and messages serve the admin. The API
authenticates with bearer tokens (DRF views are CSRF-exempt, `request.user` is set by DRF),
stores nothing in a session and shows no messages, yet paid ~200 µs of CPU per request for
the four (bench/README.md, "Request stack"). `SiteOnlyMiddleware` stands where they stood
in MIDDLEWARE and runs the chain of SITE_ONLY_MIDDLEWARE, built as Django builds its own
(each wrapped by `convert_exception_to_response`, `process_view` hooks in order; no
other hooks are forwarded, so a middleware with others is refused), for
every path outside `/api/`; an API request goes straight on.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.utils.module_loading import import_string

from perpetua.api.handlers import API_PREFIX
from perpetua.api.hybrid import HybridMiddleware


class SiteOnlyMiddleware(HybridMiddleware):
    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        handler = get_response
        self._view_hooks: list[Any] = []
        for path in reversed(settings.SITE_ONLY_MIDDLEWARE):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_exception") or hasattr(middleware, "process_template_response"):
                raise ImproperlyConfigured(f"{path}: SiteOnlyMiddleware forwards process_view hooks only")
            if hasattr(middleware, "process_view"):
                self._view_hooks.insert(0, middleware.process_view)
            handler = convert_exception_to_response(middleware)
        self._site = handler

    def __call__(self, request: Any) -> Any:
        if request.path.startswith(API_PREFIX):
            return self.get_response(request)
        return self._site(request)

    def process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        if request.path.startswith(API_PREFIX):
            return None
        for hook in self._view_hooks:
            response = hook(request, view_func, view_args, view_kwargs)
            if response is not None:
                return response
        return None


# Django's own checks look for these in MIDDLEWARE only (admin.E408-E410, security.W003), so
# settings silence them and this check asks the same of MIDDLEWARE + SITE_ONLY_MIDDLEWARE.
REQUIRED = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
)


@checks.register(checks.Tags.security)
def check_site_middleware(**kwargs: Any) -> list[checks.CheckMessage]:
    loaded = [*settings.MIDDLEWARE, *getattr(settings, "SITE_ONLY_MIDDLEWARE", [])]
    return [
        checks.Error(f"{path} must be in MIDDLEWARE or SITE_ONLY_MIDDLEWARE (the admin needs it).", id="api.E001")
        for path in REQUIRED
        if path not in loaded
    ]
