"""Recurring templates (CONTRACT §5). Stub created by the tasks/subtasks/focus work;
owned and replaced by the recurring-templates work."""

from __future__ import annotations

from typing import Any


def template_after_instance_completed(*, task: Any) -> None:
    """Called inside the completing transaction when an instance of a template completes."""
    return None


def template_edit_recurrence_from_instance(*, task: Any, rrule: str, scope: str) -> None:
    """Called inside PATCH /tasks/{id} when it carries `rrule` and `scope`."""
    return None
