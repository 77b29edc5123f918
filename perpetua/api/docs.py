"""`/api/v1/schema/` (OpenAPI 3) and `/api/v1/docs/` (Swagger UI): public, no auth.

The generated schema is cached per process unless DEBUG: it only changes with the code.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    _cache: dict[tuple[Any, ...], Any] = {}
    _lock = threading.Lock()

    def _get_schema_response(self, request: Any) -> Response:
        if settings.DEBUG:
            return super()._get_schema_response(request)
        version = self.api_version or request.version or self._get_version_parameter(request)
        cache_key = (settings.ROOT_URLCONF, str(self.urlconf), version)
        with self._lock:
            data = self._cache.get(cache_key)
            if data is None:
                data = super()._get_schema_response(request).data
                self._cache[cache_key] = data
        return Response(
            data=data,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'},
        )


class DocsView(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
