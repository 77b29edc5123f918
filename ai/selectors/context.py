"""What the model is shown of the user's data (CONTRACT §8): the requesting user's own
rows, read through the tasks and notes selectors, shaped small, and wrapped as data.

User data reaches the model only inside `<user_data>` blocks (and tool results built the
same way), whose JSON has `<`, `>` and `&` escaped, so nothing a user typed into a title
can close the block or pose as an instruction; the agents' instructions say that what is
inside is data, never instructions.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from gamification import selectors as gamification_selectors
from notes.selectors import note_get_for_user
from perpetua.api.serializers import format_datetime
from tasks.selectors import subtasks as subtask_selectors
from tasks.selectors import tasks as task_selectors

DESCRIPTION_PREVIEW = 500


def data_block(kind: str, payload: Any) -> str:
    """`payload` as JSON inside a `<user_data kind=...>` block that its content cannot close."""
    text = json.dumps(payload, ensure_ascii=False, default=str)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return f'<user_data kind="{kind}">\n{text}\n</user_data>'


def task_data(task: Any) -> dict[str, Any]:
    return {
        "id": str(task.pk),
        "title": task.title,
        "description": task.description[:DESCRIPTION_PREVIEW],
        "priority": task.priority,
        "due_date": format_datetime(task.due_date),
        "completed": task.completed,
        "archived": task.archived,
        "subtask_count": getattr(task, "subtask_count", None),
        "version": task.version,
    }


def tasks_for_user(*, user: Any, limit: int, query: str = "", include_completed: bool = False) -> list[dict[str, Any]]:
    """The user's tasks (never another user's), newest first, at most `limit`."""
    filters: dict[str, str] = {}
    if query:
        filters["search"] = query
    if not include_completed:
        filters["completed"] = "false"
    return [task_data(t) for t in task_selectors.task_list(user=user, filters=filters)[:limit]]


def task_with_subtasks_for_user(*, user: Any, task_id: uuid.UUID | str) -> dict[str, Any]:
    """One of the user's tasks with its subtasks; another user's is 403, a missing one 404."""
    task = task_selectors.task_get_for_user(user=user, task_id=task_id)
    data = task_data(task)
    data["subtasks"] = [
        {"title": s.title, "completed": s.completed} for s in subtask_selectors.subtask_list_for_task(task=task)
    ]
    data["subtask_count"] = len(data["subtasks"])
    return data


def subtask_room_for_user(*, user: Any, task_id: uuid.UUID | str) -> tuple[dict[str, Any], int]:
    """The task (with subtasks) and how many more subtasks the user's plan allows on it."""
    data = task_with_subtasks_for_user(user=user, task_id=task_id)
    limit = gamification_selectors.limits_for_user(user=user).max_subtasks
    return data, max(limit - data["subtask_count"], 0)


def owned_task_ids(*, user: Any, task_ids: list[str]) -> set[str]:
    """Which of these ids are tasks of `user` (one query)."""
    valid = []
    for raw in task_ids:
        try:
            valid.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not valid:
        return set()
    rows = task_selectors.task_queryset().filter(user=user, pk__in=valid).values_list("pk", flat=True)
    return {str(pk) for pk in rows}


def note_for_user(*, user: Any, note_id: uuid.UUID | str) -> dict[str, Any]:
    note = note_get_for_user(user=user, note_id=note_id)
    return {"id": str(note.pk), "content": note.content, "archived": note.archived}


def description_limit_for_user(*, user: Any) -> int:
    return gamification_selectors.limits_for_user(user=user).max_description_length
