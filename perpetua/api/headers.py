"""Response headers that keep per-user API answers out of shared caches (issue 9, item 10)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from perpetua.api.handlers import API_PREFIX


class PrivateResponseMiddleware:
    """Every API answer varies with `Authorization`; one to a request carrying credentials is
    `Cache-Control: no-store` unless its view chose a policy itself (e.g. the public JWKS).

    Without this a proxy or browser cache could hand one user's `/users/me` to another
    request, or keep it on disk after sign-out.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(API_PREFIX):
            patch_vary_headers(response, ["Authorization"])
            if request.META.get("HTTP_AUTHORIZATION") and not response.has_header("Cache-Control"):
                response["Cache-Control"] = "no-store"
        return response
