"""Tombstones and the activity log (CONTRACT §14). Stubs: the recovery helper fills these in."""

from __future__ import annotations

import uuid
from typing import Any


def activity_record(
    *,
    user: Any,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    source: str = "user",
    metadata: dict[str, Any] | None = None,
) -> None:
    """Append one activity-log entry; the request id comes from the current request context."""
    return None


def tombstone_create(*, user: Any, entity_type: str, entity_id: uuid.UUID, payload: dict[str, Any]) -> Any:
    """Store a deleted object's snapshot (called inside the deleting transaction)."""
    raise NotImplementedError
