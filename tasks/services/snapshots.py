"""Deleting a task into a tombstone and restoring it (CONTRACT §3, §14).

The tasks app registers `task_snapshot` and `task_restore` with `recovery.registry`
(see `tasks.apps`), so recovery brings tasks back without importing this app.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from perpetua.api.exceptions import Conflict, Forbidden, VersionConflict
from recovery import services as recovery_services
from tasks import rules
from tasks.models import Reminder, Subtask, Task, TaskTemplate
from tasks.selectors import tasks as task_selectors

TASK_ENTITY_TYPE = "task"
PAYLOAD_FORMAT = 1


def _json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _snapshot(instance: models.Model) -> dict[str, Any]:
    """Every concrete field by attname (`task_id`, `user_id`, ...), JSON-able."""
    return {f.attname: _json_value(getattr(instance, f.attname)) for f in instance._meta.concrete_fields}


def _from_snapshot(model: type[models.Model], data: dict[str, Any]) -> models.Model:
    values = {}
    for f in model._meta.concrete_fields:
        if f.attname in data:
            values[f.attname] = f.to_python(data[f.attname])
    return model(**values)


def task_snapshot(task: Task) -> dict[str, Any]:
    """The tombstone payload of a task (registered for recovery); see `task_restore` for the format."""
    return {
        "format": PAYLOAD_FORMAT,
        "task": _snapshot(task),
        "subtasks": [_snapshot(s) for s in Subtask.objects.filter(task_id=task.pk).order_by("order_index")],
        "reminders": [_snapshot(r) for r in Reminder.objects.filter(task_id=task.pk).order_by("scheduled_at", "pk")],
    }


def task_delete(*, user: Any, task_id: uuid.UUID | str, version: int | None = None, source: str = "user") -> Any:
    """DELETE /tasks/{id} (CONTRACT §3, §14): snapshot task + subtasks + reminders into a
    tombstone and hard-delete, in one transaction (`recovery.services.tombstone_bury`).
    Returns the Tombstone.

    `version` is optional here (DELETE has no body); when given, a stale one is 409.
    Focus sessions of the task are deleted with it and are not part of the snapshot
    (their total lives on in `focus_time_seconds`).
    """
    with transaction.atomic():
        # Lock order task → user: `tombstone_bury` deletes the task and its children
        # before `tombstone_create` locks the user row, the same order as every other
        # path, so nothing holding a key-share on the user waits on us.
        task = task_selectors.task_get_for_user(user=user, task_id=task_id, for_update=True, strongest=True)
        if version is not None and task.version != version:
            raise VersionConflict()
        task_pk, title = task.pk, task.title
        tombstone = recovery_services.tombstone_bury(user=user, entity_type=TASK_ENTITY_TYPE, instance=task)
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task_pk, action="deleted", source=source,
            metadata={"title": title, "tombstone_id": str(tombstone.id)},
        )  # fmt: skip
    return tombstone


def _restore_timestamps(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """auto_now/auto_now_add overwrite timestamps on INSERT; put the originals back in one
    UPDATE per model (QuerySet.update never touches auto_now fields)."""
    if not rows:
        return
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    pk_field = model._meta.pk
    ids = [pk_field.to_python(row["id"]) for row in rows]
    changes = {}
    for name in names:
        column = model._meta.get_field(name)
        changes[name] = Case(
            *[When(pk=pk, then=Value(column.to_python(row.get(name)))) for pk, row in zip(ids, rows, strict=True)],
            output_field=column,
        )
    model.objects.filter(pk__in=ids).update(**changes)


def task_restore(*, user: Any, payload: dict[str, Any]) -> Task:
    """Restore a deleted task from its tombstone payload (CONTRACT §14); registered for recovery
    (tasks.apps) and called by `recovery.services.tombstone_recover` inside its transaction.

    Payload format (`format` 1), as written by `task_snapshot`::

        {"format": 1,
         "task":      {every concrete Task field by attname: "id", "user_id",
                       "template_id", "title", ..., "version", "created_at", "updated_at"},
         "subtasks":  [{every concrete Subtask field: "id", "task_id", ...}, ...],
         "reminders": [{every concrete Reminder field: "id", "user_id", "task_id", ...}, ...]}

    UUIDs are strings, datetimes ISO-8601 with microseconds and offset; everything else
    is its plain JSON value.

    Rules:
    * original ids, version and timestamps are kept (inserted, then the timestamps are
      written back over auto_now);
    * the task id (or a child id) already taken → 409 CONFLICT;
    * a payload of another user → 403; a template deleted since → `template_id` null;
    * an active restored task needs room under the active-task limit (409 LIMIT_EXCEEDED);
    * it is NOT a completion: no progress, streak or achievement call, and
      `completion_counted` keeps its stored value;
    * reminders whose `scheduled_at` passed while the task was deleted and that had not
      fired are stored `fired=True` with `fired_at` null ("skipped"), so the worker
      never fires them late.
    """
    task_data = dict(payload["task"])
    if str(task_data.get("user_id")) != str(user.pk):
        raise Forbidden()
    with transaction.atomic():
        task = _from_snapshot(Task, task_data)
        if not task.completed and not task.archived:
            rules.check_active_task_room(user=user)
        if Task.objects.filter(pk=task.pk).exists():
            raise Conflict("A task with this id exists already.")
        if task.template_id is not None and not TaskTemplate.objects.filter(pk=task.template_id, user=user).exists():
            task.template_id = None
        subtasks = [_from_snapshot(Subtask, row) for row in payload.get("subtasks", [])]
        reminders = [_from_snapshot(Reminder, row) for row in payload.get("reminders", [])]
        for reminder in reminders:
            reminder.user_id = user.pk
        now = timezone.now()
        for reminder in reminders:
            if not reminder.fired and reminder.scheduled_at <= now:
                reminder.fired = True
                reminder.fired_at = None
        try:
            with transaction.atomic():
                Task.objects.bulk_create([task])
                Subtask.objects.bulk_create(subtasks)
                Reminder.objects.bulk_create(reminders)
        except IntegrityError as exc:
            raise Conflict("A task, subtask or reminder with these ids exists already.") from exc
        _restore_timestamps(Task, [task_data])
        _restore_timestamps(Subtask, payload.get("subtasks", []))
        _restore_timestamps(Reminder, payload.get("reminders", []))
        # The "recovered" activity entry is written by recovery.services.tombstone_recover.
        return task_selectors.task_get_annotated(task_id=task.pk)
