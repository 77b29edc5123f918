"""Response headers that keep per-user API answers out of shared caches (issue 9, item 10)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from perpetua.api.handlers import API_PREFIX
from perpetua.api.hybrid import HybridMiddleware


class PrivateResponseMiddleware(HybridMiddleware):
    """Every API answer varies with `Authorization`; one to a request carrying credentials is
    `Cache-Control: no-store` unless its view chose a policy itself (e.g. the public JWKS).

    Without this a proxy or browser cache could hand one user's `/users/me` to another
    request, or keep it on disk after sign-out.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self._finish(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._finish(request, await self.get_response(request))

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            patch_vary_headers(response, ["Authorization"])
            if request.META.get("HTTP_AUTHORIZATION") and not response.has_header("Cache-Control"):
                response["Cache-Control"] = "no-store"
        return response
