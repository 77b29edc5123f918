"""The success envelope (CONTRACT §0): `{"data": ...}` plus contract siblings."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response


def envelope(data: Any, *, status: int = 200, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return Response({"data": data, **extra}, status=status, headers=headers)
