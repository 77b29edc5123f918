"""The hot reads of tasks as SQL written once: the list page, the detail, a task with its
counts, the active-task count.

Django compiles a queryset to SQL on every evaluation, and for these statements that cost
more CPU than running them (bench/README.md). Here each is a constant string that
psycopg prepares after a few runs (server-side binding); the page and the detail come back
as dicts (column → value), the input of the serializers' `*_data` functions, and the task
with its counts as a model instance for the services. The page and the detail are the same
queries as their ORM twins in `tasks.selectors.tasks` (tests compare them); filtered lists
stay on the ORM.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import connection

from tasks.models import Task

_TASK_COLUMNS = ", ".join(f"t.{field.column}" for field in Task._meta.concrete_fields)
_TASK_ATTNAMES = [field.attname for field in Task._meta.concrete_fields]
# The counts every task representation carries (CONTRACT §3), over the (task, order_index) index.
_COUNTS = """
    (SELECT count(*) FROM tasks_subtask s WHERE s.task_id = t.id) AS subtask_count,
    (SELECT count(*) FROM tasks_subtask s WHERE s.task_id = t.id AND s.completed) AS subtask_completed_count"""

# `GET /tasks` without filters: hidden tasks left out, newest first, `id` for stable pages,
# and the total of every matching row on each row of the page (the window runs before LIMIT).
_PAGE = f"""
SELECT {_TASK_COLUMNS}, {_COUNTS}, count(*) OVER () AS total
FROM tasks_task t
WHERE t.user_id = %(user_id)s AND NOT t.hidden
ORDER BY t.created_at DESC, t.id
LIMIT %(limit)s OFFSET %(offset)s"""  # noqa: S608 (constants only; values are bound)
_COUNT = "SELECT count(*) FROM tasks_task t WHERE t.user_id = %(user_id)s AND NOT t.hidden"

# `GET /tasks/{id}`: the task with its subtasks (by order_index) and reminders (by
# scheduled_at, created_at) as JSON arrays of their rows, in one round trip.
_DETAIL = f"""
SELECT {_TASK_COLUMNS},
    (SELECT coalesce(json_agg(s ORDER BY s.order_index), '[]') FROM tasks_subtask s WHERE s.task_id = t.id)
        AS subtasks,
    (SELECT coalesce(json_agg(r ORDER BY r.scheduled_at, r.created_at), '[]') FROM tasks_reminder r
        WHERE r.task_id = t.id) AS reminders
FROM tasks_task t
WHERE t.id = %(task_id)s"""  # noqa: S608 (constants only; values are bound)
# JSON carries timestamps as ISO-8601 text; these are turned back into datetimes.
_SUBTASK_DATETIMES = ("completed_at", "created_at", "updated_at")
_REMINDER_DATETIMES = ("scheduled_at", "fired_at", "created_at", "updated_at")

_WITH_COUNTS = f"SELECT {_TASK_COLUMNS}, {_COUNTS} FROM tasks_task t WHERE t.id = %(task_id)s"  # noqa: S608


# The active-task limit's count (CONTRACT §3), over the partial index task_user_active.
_ACTIVE_COUNT = "SELECT count(*) FROM tasks_task WHERE user_id = %(user_id)s AND NOT completed AND NOT archived"


def _dicts(sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def task_page(*, user_id: uuid.UUID, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The unfiltered list's page and its total, in one statement (a second only for an
    empty page past the start, where no row carries the total)."""
    rows = _dicts(_PAGE, {"user_id": user_id, "offset": offset, "limit": limit})
    if not rows:
        return [], _dicts(_COUNT, {"user_id": user_id})[0]["count"] if offset else 0
    total = rows[0]["total"]
    for row in rows:
        del row["total"]
    return rows, total


def _with_datetimes(rows: list[dict[str, Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    for row in rows:
        for name in names:
            if row[name] is not None:
                row[name] = dt.datetime.fromisoformat(row[name])
    return rows


def task_detail(*, task_id: uuid.UUID | str) -> dict[str, Any] | None:
    """The task's row with `subtasks` and `reminders` (lists of row dicts) and its subtask
    counts, or None when there is no such task."""
    rows = _dicts(_DETAIL, {"task_id": task_id})
    if not rows:
        return None
    task = rows[0]
    subtasks = _with_datetimes(task["subtasks"], _SUBTASK_DATETIMES)
    _with_datetimes(task["reminders"], _REMINDER_DATETIMES)
    for subtask in subtasks:
        subtask["user_id"] = task["user_id"]  # a subtask's owner is its task's
    task["subtask_count"] = len(subtasks)
    task["subtask_completed_count"] = sum(1 for subtask in subtasks if subtask["completed"])
    return task


def task_with_counts(*, task_id: uuid.UUID | str, lock: str = "") -> Task | None:
    """The task as a model instance with its subtask counts, or None; `lock` is appended
    as the row lock clause (`FOR NO KEY UPDATE`, `FOR UPDATE`)."""
    with connection.cursor() as cursor:
        cursor.execute(f"{_WITH_COUNTS} {lock}", {"task_id": task_id})
        row = cursor.fetchone()
    if row is None:
        return None
    task = Task.from_db(connection.alias, _TASK_ATTNAMES, row[:-2])
    task.subtask_count, task.subtask_completed_count = row[-2:]
    return task


def task_count_active(*, user_id: uuid.UUID) -> int:
    """Tasks of the user that are neither completed nor archived."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_COUNT, {"user_id": user_id})
        return cursor.fetchone()[0]
