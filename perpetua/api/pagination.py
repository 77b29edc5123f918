"""Offset pagination with the contract's envelope (CONTRACT §0).

`{"data": [...], "pagination": {"offset", "limit", "total", "has_more"}}`; a bad
`offset`/`limit` is a 400, never a silent clamp.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from perpetua.api.exceptions import field_error

# ASCII digits only: int() also takes "5_0", "+5", " 5" and "\u0665" (Arabic-Indic five).
_DIGITS = re.compile(r"[0-9]{1,18}")


def _parse_int(raw: str | None, *, name: str, default: int, minimum: int, maximum: int | None) -> int:
    if raw is None or raw == "":
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise field_error(name, f"Must be an integer of at least {minimum}{bound}.", f"Invalid {name}.")
    return value


class OffsetPagination(BasePagination):
    def get_window(self, request: Any) -> tuple[int, int]:
        limit = _parse_int(
            request.query_params.get("limit"),
            name="limit",
            default=settings.PAGINATION_DEFAULT_LIMIT,
            minimum=1,
            maximum=settings.PAGINATION_MAX_LIMIT,
        )
        offset = _parse_int(request.query_params.get("offset"), name="offset", default=0, minimum=0, maximum=None)
        return offset, limit

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list[Any]:
        self.offset, self.limit = self.get_window(request)
        self.total = queryset.count()
        if self.offset >= self.total:
            return []
        return list(queryset[self.offset : self.offset + self.limit])

    def get_pagination_meta(self) -> dict[str, Any]:
        return {
            "offset": self.offset,
            "limit": self.limit,
            "total": self.total,
            "has_more": self.offset + self.limit < self.total,
        }

    def get_paginated_response(self, data: Any, **extra: Any) -> Response:
        return Response({"data": data, "pagination": self.get_pagination_meta(), **extra})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["data", "pagination"],
            "properties": {
                "data": schema,
                "pagination": {
                    "type": "object",
                    "required": ["offset", "limit", "total", "has_more"],
                    "properties": {
                        "offset": {"type": "integer", "minimum": 0},
                        "limit": {"type": "integer", "minimum": 1},
                        "total": {"type": "integer", "minimum": 0},
                        "has_more": {"type": "boolean"},
                    },
                },
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "default": 0},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": settings.PAGINATION_MAX_LIMIT, "default": 25},
            },
        ]
