"""Offset pagination with the contract's envelope (CONTRACT §0).

`{"data": [...], "pagination": {"offset", "limit", "total", "has_more"}}`; a bad
`offset`/`limit` is a 400, never a silent clamp.

A page and its total come from ONE statement: the page query carries `COUNT(*) OVER ()`
(the window sees every row that matches, before LIMIT/OFFSET), so a list costs one query
where it cost a count plus the page. Any selector's queryset gets this without changes;
only an empty page past the start (`offset > 0`, no row to read the total from) and
querysets a window cannot count correctly (DISTINCT, UNION, already sliced, `values_list`)
fall back to a separate `count()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet, Window
from django.db.models.query import ModelIterable, ValuesIterable
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from perpetua.api.exceptions import field_error

# ASCII digits only: int() also takes "5_0", "+5", " 5" and "\u0665" (Arabic-Indic five).
_DIGITS = re.compile(r"[0-9]{1,18}")
# The annotation that carries the total on every row of a page; removed before the rows leave.
TOTAL_ALIAS = "_pagination_total"
_TOTAL = Window(Count("*"))


def _parse_int(raw: str | None, *, name: str, default: int, minimum: int, maximum: int | None) -> int:
    if raw is None or raw == "":
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise field_error(name, f"Must be an integer of at least {minimum}{bound}.", f"Invalid {name}.")
    return value


def _counts_with_window(queryset: Any) -> bool:
    """Whether `COUNT(*) OVER ()` on `queryset` is its row count and can be taken off each row.

    Not under DISTINCT (the window counts rows before duplicates are removed), not for
    combined or sliced queries (no annotation possible), and only for rows that are model
    instances or dicts (a `values_list` tuple has no name to remove the total by).
    """
    if not isinstance(queryset, QuerySet):
        return False
    query = queryset.query
    return (
        not query.distinct
        and not query.combinator
        and not query.is_sliced
        and queryset._iterable_class in (ModelIterable, ValuesIterable)
    )


def paginate(queryset: Any, *, offset: int, limit: int) -> tuple[list[Any], int]:
    """`(rows offset..offset+limit, total)`: one query for a queryset, none for a list."""
    if not isinstance(queryset, QuerySet):
        rows = list(queryset)
        return rows[offset : offset + limit], len(rows)
    if not _counts_with_window(queryset):
        total = queryset.count()
        return (list(queryset[offset : offset + limit]) if offset < total else []), total
    page = list(queryset.annotate(**{TOTAL_ALIAS: _TOTAL})[offset : offset + limit])
    if not page:
        # Past the end there is no row to read the total from (offset 0: there is none).
        return [], queryset.count() if offset else 0
    for row in page:
        total = row.pop(TOTAL_ALIAS) if isinstance(row, dict) else row.__dict__.pop(TOTAL_ALIAS)
    return page, total


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
        page, self.total = paginate(queryset, offset=self.offset, limit=self.limit)
        return page

    def paginate_with(self, request: Any, fetch: Callable[..., tuple[list[Any], int]]) -> list[Any]:
        """For a selector that pages itself: `fetch(offset=, limit=)` returns `(rows, total)`."""
        self.offset, self.limit = self.get_window(request)
        page, self.total = fetch(offset=self.offset, limit=self.limit)
        return page

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
