"""What the ai app's views share: the base view, the caller's session and named task,
and the OpenAPI description of the AI errors."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse

from accounts.authentication import request_session_id
from perpetua.api.async_views import AsyncApiView
from perpetua.api.exceptions import field_error

AI_ERRORS = {
    402: OpenApiResponse(description="INSUFFICIENT_CREDITS: not enough AI credits (nothing was charged)."),
    503: OpenApiResponse(
        description="AI_SERVICE_UNAVAILABLE: provider unconfigured, failing, malformed or slower than "
        "AI_TIMEOUT_SECONDS; the credit is refunded."
    ),
}
NAMED_ROW_ERROR = {
    404: OpenApiResponse(description="TASK_NOT_FOUND / NOT_FOUND: the task (or note) the body names does not exist.")
}
TASK_LIMIT_ERROR = {
    429: OpenApiResponse(
        description="RATE_LIMIT_EXCEEDED (20/min per user) / AI_TASK_LIMIT_REACHED: an 11th request on one task "
        "in one session (free)."
    )
}


class AIView(AsyncApiView):
    """An AI endpoint: async (the provider is awaited on the event loop) and an
    Idempotency-Key on every POST (CONTRACT §0, §8)."""

    idempotency_required = True


def session_id(request: Any) -> str | None:
    return request_session_id(request)


def named_task_id(request: Any, body_task_id: uuid.UUID | None) -> uuid.UUID | None:
    """The task a request names for the per-task counter: `task_id` in the body, else `X-Task-Id`."""
    if body_task_id is not None:
        return body_task_id
    raw = request.META.get("HTTP_X_TASK_ID")
    if not raw:
        return None
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise field_error("X-Task-Id", "Must be a UUID.") from None
