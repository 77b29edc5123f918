"""Marking an endpoint deprecated (CONTRACT §0, Versioning).

    @deprecated(successor="/api/v2/tasks", sunset=date(2027, 3, 1))
    class TaskListV1(ApiView): ...

    class Things(ApiViewSet):
        @deprecated("/api/v1/things/new", datetime(2027, 3, 1, tzinfo=UTC))
        def list(self, request): ...

Headers on every response of the endpoint (errors included when the class is decorated):

- `Deprecation: true` — the draft form (draft-ietf-httpapi-deprecation-header ≤ 02)
  that most clients check for. When `since` is given, the RFC 9745 form
  `Deprecation: @<unix seconds>` is sent instead.
- `Sunset: <HTTP-date>` (RFC 8594): when the endpoint goes away. A `date` means 00:00
  UTC that day; a naive `datetime` is taken as UTC. The contract asks for 90 days' notice.
- `Link: <successor>; rel="successor-version"` (RFC 5829), appended to any existing Link.

Header values are computed once, when the decorator is applied.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from django.utils.http import http_date

T = TypeVar("T")


def _epoch(moment: date | datetime) -> int:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    return int(datetime(moment.year, moment.month, moment.day, tzinfo=UTC).timestamp())


def deprecation_headers(
    successor: str, sunset: date | datetime, *, since: date | datetime | None = None
) -> dict[str, str]:
    return {
        "Deprecation": f"@{_epoch(since)}" if since is not None else "true",
        "Sunset": http_date(_epoch(sunset)),
        "Link": f'<{successor}>; rel="successor-version"',
    }


def _apply(response: Any, headers: dict[str, str]) -> Any:
    if response is None or not hasattr(response, "headers"):
        return response
    for name, value in headers.items():
        if name == "Link" and response.has_header("Link"):
            response["Link"] = f"{response['Link']}, {value}"
        else:
            response[name] = value
    return response


def deprecated(successor: str, sunset: date | datetime, *, since: date | datetime | None = None):
    """Decorate a DRF view class, a view/viewset method, or a function view."""
    headers = deprecation_headers(successor, sunset, since=since)

    def decorate(target: T) -> T:
        if isinstance(target, type):
            original = target.finalize_response  # type: ignore[attr-defined]

            @functools.wraps(original)
            def finalize_response(self: Any, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
                return _apply(original(self, request, response, *args, **kwargs), headers)

            target.finalize_response = finalize_response  # type: ignore[attr-defined]
            target.deprecation_headers = headers  # type: ignore[attr-defined]  # read by the schema
            return target

        @functools.wraps(target)  # type: ignore[arg-type]
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return _apply(target(*args, **kwargs), headers)  # type: ignore[operator]

        wrapper.deprecation_headers = headers  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
