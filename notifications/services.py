"""In-app notifications (CONTRACT §13). Stub: the notifications helper fills this in."""

from __future__ import annotations

from typing import Any


def notification_create(
    *, user: Any, type: str, title: str, body: str = "", action_url: str | None = None, push: bool = False
) -> Any:
    """Create an in-app notification; with `push=True` also send Web Push after commit (issue 4)."""
    raise NotImplementedError
