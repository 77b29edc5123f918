"""Reminders (CONTRACT §6). Stub created by the tasks/subtasks/focus work; owned and
replaced by the reminders work."""

from __future__ import annotations

from typing import Any


def reminders_recompute_for_task(*, task: Any) -> None:
    """Called inside the updating transaction when a task's due_date changed."""
    return None
