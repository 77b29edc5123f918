"""Helpers the tasks app's views share: OpenAPI error descriptions and the `Unlock` list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

_ERRORS = {
    "VALIDATION_ERROR": (400, "VALIDATION_ERROR: invalid body, query or path value (field errors in `details`)."),
    "FORBIDDEN": (403, "FORBIDDEN: the resource (or an id in the body) belongs to another user."),
    "TASK_NOT_FOUND": (404, "TASK_NOT_FOUND: no such task."),
    "NOT_FOUND": (404, "NOT_FOUND: no such resource."),
    "CONFLICT": (409, "CONFLICT: stale `version`, or the state forbids it."),
    "LIMIT_EXCEEDED": (409, "LIMIT_EXCEEDED: tier/perk limit reached."),
    "ARCHIVED": (409, "ARCHIVED: the task is archived."),
}


def responses(ok: dict[int, Any], *codes: str) -> dict[int, Any]:
    """Success responses plus the contract errors this endpoint can return (CONTRACT §0)."""
    out: dict[int, Any] = dict(ok)
    merged: dict[int, list[str]] = {}
    for code in codes:
        status, text = _ERRORS[code]
        merged.setdefault(status, []).append(text)
    for status, texts in merged.items():
        out[status] = OpenApiResponse(description=" / ".join(texts))
    return out


def unlocks(progress: Any) -> list[dict[str, Any]]:
    return list(progress.unlocked_achievements)
