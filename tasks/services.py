"""Every write to tasks, subtasks and focus sessions (CONTRACT §3, §4, §11, §14).

Each use case is one keyword-only function under one `transaction.atomic`. Races are
settled in the database:

* task writes: one conditional `UPDATE ... WHERE id = %s AND version = %s` that also
  increments `version`; zero rows → 409 CONFLICT and nothing changes;
* the active-task limit: the owner's user row is locked (`FOR NO KEY UPDATE`) while
  counting, on create, reopen, unarchive and restore;
* subtask count limit and gapless indices: the parent task row is locked for every
  subtask create/delete/reorder/update;
* one open focus session per user: a partial unique constraint.

Lock order is always task → user (a path touching an existing task locks that task
row before it locks or references the user row), and task → subtask, so these paths
cannot deadlock with each other or with a task deletion.
`source` is "user" for the HTTP API and "ai" for the AI confirm-action (§8).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.services import user_lock
from gamification import selectors as gamification_selectors
from gamification import services as gamification_services
from gamification.selectors import EffectiveLimits
from gamification.services import CompletionProgress
from perpetua.api.errors import (
    Archived,
    Conflict,
    Forbidden,
    LimitExceeded,
    NotFound,
    ValidationFailed,
    VersionConflict,
    field_error,
    unknown_fields_error,
)
from recovery import services as recovery_services
from tasks import selectors
from tasks.models import CompletedBy, FocusSession, Priority, Reminder, Source, Subtask, Task, TaskTemplate

TITLE_MAX_LENGTH = 200
ESTIMATED_DURATION_RANGE = (1, 720)
# Fields a PATCH may carry besides `version` (CONTRACT §3).
TASK_EDITABLE_FIELDS = (
    "title",
    "description",
    "priority",
    "due_date",
    "estimated_duration",
    "hidden",
    "completed",
    "archived",
)
PAYLOAD_FORMAT = 1


@dataclass
class TaskWriteResult:
    """A task after a write, plus the progress its completion produced (if any)."""

    task: Task
    completed_now: bool = False
    progress: CompletionProgress = field(default_factory=CompletionProgress)


@dataclass
class SubtaskWriteResult:
    subtask: Subtask
    task_completed: bool = False
    progress: CompletionProgress = field(default_factory=CompletionProgress)


# --- validation: the one place for each task rule ---------------------------------------


def clean_title(title: Any, *, field_name: str = "title") -> str:
    if not isinstance(title, str):
        raise field_error(field_name, "Must be a string.")
    title = title.strip()
    if not 1 <= len(title) <= TITLE_MAX_LENGTH:
        raise field_error(field_name, f"Must be 1 to {TITLE_MAX_LENGTH} characters after trimming.")
    return title


def clean_description(description: Any, *, limits: EffectiveLimits) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise field_error("description", "Must be a string.")
    limit = limits.max_description_length
    if len(description) > limit:
        raise field_error("description", f"Must be at most {limit} characters on your plan.")
    return description


def clean_priority(priority: Any) -> str:
    if priority not in Priority.values:
        raise field_error("priority", f"Must be one of {', '.join(Priority.values)}.")
    return priority


def clean_estimated_duration(minutes: Any) -> int | None:
    low, high = ESTIMATED_DURATION_RANGE
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not low <= minutes <= high:
        raise field_error("estimated_duration", f"Must be {low} to {high} minutes.")
    return minutes


def _clean_due_date(due_date: Any, *, created_at: dt.datetime) -> dt.datetime | None:
    """Due date at most MAX_TASK_DUE_DAYS after the task's creation (CONTRACT §3)."""
    if due_date is None:
        return None
    if not isinstance(due_date, dt.datetime) or timezone.is_naive(due_date):
        raise field_error("due_date", "Must be an ISO-8601 datetime with a timezone.")
    latest = created_at + dt.timedelta(days=settings.MAX_TASK_DUE_DAYS)
    if due_date > latest:
        raise field_error("due_date", f"Must be at most {settings.MAX_TASK_DUE_DAYS} days after the task's creation.")
    return due_date


def check_active_task_room(*, user: Any, limits: EffectiveLimits | None = None) -> None:
    """Active tasks (not completed, not archived) < tier base + perks, else 409 (§3)."""
    user_lock(user_id=user.pk)
    limit = (limits or gamification_selectors.limits_for_user(user=user)).max_tasks
    if selectors.task_count_active(user=user) >= limit:
        raise LimitExceeded(f"You can have at most {limit} active tasks on your plan.", limit=limit)


# --- hooks owned by the recurring/reminders code (imported lazily: they import us) --------


def _after_completion(*, user: Any, task: Task, counted_before: bool) -> CompletionProgress:
    """A completion's consequences, in lock order (task → session → template/user →
    progress): a focus session still running on the task ends (its time counts toward
    the focus completion, §11), the recurring template creates the next instance (§5),
    then progress is recorded for a genuine first completion (§11)."""
    session = FocusSession.objects.filter(task_id=task.pk, ended_at__isnull=True).first()
    if session is not None:
        task.focus_time_seconds += _focus_session_close(session=session, user=user, source="system")
    if task.template_id is not None:
        from tasks import recurring

        recurring.template_after_instance_completed(task=task)
    if counted_before:
        return CompletionProgress(streak=gamification_selectors.streak_for_user(user=user))
    return gamification_services.progress_record_completion(user=user, task=task)


def _after_due_date_change(*, task: Task) -> None:
    from tasks import reminders

    reminders.reminders_recompute_for_task(task=task)


# --- tasks ----------------------------------------------------------------------------------


def task_create(
    *,
    user: Any,
    title: str,
    description: str = "",
    priority: str = Priority.MEDIUM,
    due_date: dt.datetime | None = None,
    estimated_duration: int | None = None,
    hidden: bool = False,
    template: TaskTemplate | None = None,
    source: str = "user",
) -> Task:
    """Create a task (CONTRACT §3): trimmed title, tier description limit, due date at
    most MAX_TASK_DUE_DAYS from now, and room under the active-task limit (race-safe)."""
    now = timezone.now()
    title = clean_title(title)
    limits = gamification_selectors.limits_for_user(user=user)
    description = clean_description(description, limits=limits)
    priority = clean_priority(priority)
    due_date = _clean_due_date(due_date, created_at=now)
    estimated_duration = clean_estimated_duration(estimated_duration)
    with transaction.atomic():
        check_active_task_room(user=user, limits=limits)
        task = Task.objects.create(
            user=user,
            template=template,
            title=title,
            description=description,
            priority=priority,
            due_date=due_date,
            estimated_duration=estimated_duration,
            hidden=bool(hidden),
        )
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task.pk, action="created", source=source,
            metadata={"title": task.title},
        )  # fmt: skip
    task.subtask_count = 0
    task.subtask_completed_count = 0
    return task


def _versioned_update(*, task: Task, version: int, changes: dict[str, Any]) -> None:
    """The optimistic lock: one conditional UPDATE; 0 rows → 409 CONFLICT (CONTRACT §0)."""
    updated = Task.objects.filter(pk=task.pk, version=version).update(
        **changes, version=F("version") + 1, updated_at=timezone.now()
    )
    if updated == 0:
        raise VersionConflict()


def task_update(
    *,
    user: Any,
    task_id: uuid.UUID | str,
    version: int,
    data: dict[str, Any],
    rrule: str | None = None,
    scope: str | None = None,
    source: str = "user",
) -> TaskWriteResult:
    """PATCH/PUT /tasks/{id} (CONTRACT §3).

    `data` holds only the fields the client sent (omitted = unchanged, None clears a
    nullable field). `completed: true` completes (`completed_by: manual`), `false`
    reopens; `archived: true` archives; an archived task accepts only
    `{archived: false}` (else 409 ARCHIVED). Reopen and unarchive re-check the
    active-task limit. Every successful call increments `version` by exactly 1, also
    when nothing else changed. `rrule` + `scope` edit the recurrence of the task's
    template (§5) in the same transaction.
    """
    unknown = set(data) - set(TASK_EDITABLE_FIELDS)
    if unknown:
        raise unknown_fields_error(sorted(unknown))
    if (rrule is None) != (scope is None):
        raise field_error("scope" if scope is None else "rrule", "rrule and scope must be given together.")
    if scope is not None:
        from tasks.recurring import SCOPES

        if scope not in SCOPES:
            raise field_error("scope", f"Must be one of {', '.join(SCOPES)}.")

    # Reopen/unarchive lock the task row before the user row (task → user, as everywhere).
    may_activate = data.get("completed") is False or data.get("archived") is False
    with transaction.atomic():
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=may_activate)
        if task.version != version:
            raise VersionConflict()
        if task.archived and (set(data) != {"archived"} or data["archived"] is not False or rrule is not None):
            raise Archived("Archived tasks accept only {archived: false}.")
        if rrule is not None:
            from tasks import recurring

            recurring.ensure_recurrence_editable(task=task)  # judged on the task as it was

        changes: dict[str, Any] = {}
        if "title" in data:
            changes["title"] = clean_title(data["title"])
        if "description" in data:
            changes["description"] = clean_description(
                data["description"], limits=gamification_selectors.limits_for_user(user=user)
            )
        if "priority" in data:
            changes["priority"] = clean_priority(data["priority"])
        if "due_date" in data:
            changes["due_date"] = _clean_due_date(data["due_date"], created_at=task.created_at)
        if "estimated_duration" in data:
            changes["estimated_duration"] = clean_estimated_duration(data["estimated_duration"])
        if "hidden" in data:
            changes["hidden"] = bool(data["hidden"])

        now = timezone.now()
        completing = data.get("completed") is True and not task.completed
        reopening = data.get("completed") is False and task.completed
        archiving = data.get("archived") is True and not task.archived
        unarchiving = data.get("archived") is False and task.archived
        if completing:
            changes.update(completed=True, completed_at=now, completed_by=CompletedBy.MANUAL, completion_counted=True)
        elif reopening:
            changes.update(completed=False, completed_at=None, completed_by=None)
        if archiving:
            changes["archived"] = True
        elif unarchiving:
            changes["archived"] = False

        was_active = not task.completed and not task.archived
        will_be_active = not changes.get("completed", task.completed) and not changes.get("archived", task.archived)
        if will_be_active and not was_active:
            check_active_task_room(user=user)

        counted_before = task.completion_counted
        due_changed = "due_date" in changes and changes["due_date"] != task.due_date
        _versioned_update(task=task, version=version, changes=changes)
        task = selectors.task_get_annotated(task_id=task.pk)

        if due_changed:
            _after_due_date_change(task=task)
        if rrule is not None and scope is not None:
            recurring.template_edit_recurrence_from_instance(task=task, rrule=rrule, scope=scope)
        progress = CompletionProgress()
        if completing:
            progress = _after_completion(user=user, task=task, counted_before=counted_before)

        action = (
            "completed" if completing
            else "reopened" if reopening
            else "archived" if archiving
            else "unarchived" if unarchiving
            else "updated"
        )  # fmt: skip
        metadata: dict[str, Any] = {"fields": sorted(data), "version": task.version}
        if rrule is not None:
            metadata.update(rrule=rrule, scope=scope)
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task.pk, action=action, source=source, metadata=metadata
        )
    return TaskWriteResult(task=task, completed_now=completing, progress=progress)


def task_force_complete(*, user: Any, task_id: uuid.UUID | str, version: int, source: str = "user") -> TaskWriteResult:
    """POST /tasks/{id}/force-complete (CONTRACT §3): complete the task and every open
    subtask; the subtasks get the task's `completed_at`; `completed_by: force`.

    On an already completed task the remaining open subtasks are completed with the
    task's existing `completed_at` and `completed_by` stays as it was (no second count).
    """
    with transaction.atomic():
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        if task.version != version:
            raise VersionConflict()
        if task.archived:
            raise Archived("Archived tasks cannot be completed.")
        completing = not task.completed
        completed_at = timezone.now() if completing else task.completed_at
        changes: dict[str, Any] = {}
        if completing:
            changes.update(
                completed=True, completed_at=completed_at, completed_by=CompletedBy.FORCE, completion_counted=True
            )
        counted_before = task.completion_counted
        _versioned_update(task=task, version=version, changes=changes)
        closed = Subtask.objects.filter(task_id=task.pk, completed=False).update(
            completed=True, completed_at=completed_at, updated_at=timezone.now()
        )
        task = selectors.task_get_annotated(task_id=task.pk)
        if completing:
            progress = _after_completion(user=user, task=task, counted_before=counted_before)
        else:
            progress = CompletionProgress(streak=gamification_selectors.streak_for_user(user=user))
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task.pk, action="force_completed", source=source,
            metadata={"subtasks_completed": closed, "version": task.version},
        )  # fmt: skip
    return TaskWriteResult(task=task, completed_now=completing, progress=progress)


# --- snapshot / delete / restore ---------------------------------------------------------------


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


def task_snapshot(*, task: Task) -> dict[str, Any]:
    """The tombstone payload of a task; see `task_restore` for the format."""
    return {
        "format": PAYLOAD_FORMAT,
        "task": _snapshot(task),
        "subtasks": [_snapshot(s) for s in Subtask.objects.filter(task_id=task.pk).order_by("order_index")],
        "reminders": [_snapshot(r) for r in Reminder.objects.filter(task_id=task.pk).order_by("scheduled_at", "pk")],
    }


def task_delete(*, user: Any, task_id: uuid.UUID | str, version: int | None = None, source: str = "user") -> Any:
    """DELETE /tasks/{id} (CONTRACT §3, §14): snapshot task + subtasks + reminders into a
    tombstone, then hard-delete, in one transaction. Returns the Tombstone.

    `version` is optional here (DELETE has no body); when given, a stale one is 409.
    Focus sessions of the task are deleted with it and are not part of the snapshot
    (their total lives on in `focus_time_seconds`).
    """
    with transaction.atomic():
        # Lock order task → user (the user row is locked last, by tombstone_create): the
        # same order as every other path, and the children are deleted before the user
        # lock is taken, so nothing holding a key-share on the user waits on us.
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=True, strongest=True)
        if version is not None and task.version != version:
            raise VersionConflict()
        payload = task_snapshot(task=task)
        task_pk, title = task.pk, task.title
        task.delete()
        tombstone = recovery_services.tombstone_create(
            user=user, entity_type="task", entity_id=task_pk, payload=payload
        )
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
    """Restore a deleted task from its tombstone payload (CONTRACT §14); called by
    `recovery.services.tombstone_recover` inside its transaction.

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
            check_active_task_room(user=user)
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
        return selectors.task_get_annotated(task_id=task.pk)


# --- subtasks ---------------------------------------------------------------------------------


def _ensure_not_archived(task: Task) -> None:
    if task.archived:
        raise Archived()


def subtask_create(*, user: Any, task_id: uuid.UUID | str, title: str, source: str = "user") -> Subtask:
    """POST /tasks/{task_id}/subtasks (CONTRACT §4): appended at the next index, at most
    the tier's max_subtasks per task. The parent row is locked, so concurrent creates
    can neither exceed the limit nor share an index."""
    title = clean_title(title)
    if source not in Source.values:
        raise ValueError(f"unknown subtask source {source!r}")
    with transaction.atomic():
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        _ensure_not_archived(task)
        limit = gamification_selectors.limits_for_user(user=user).max_subtasks
        count = Subtask.objects.filter(task_id=task.pk).count()
        if count >= limit:
            raise LimitExceeded(f"A task can have at most {limit} subtasks on your plan.", limit=limit)
        subtask = Subtask.objects.create(task=task, title=title, order_index=count, source=source)
        recovery_services.activity_record(
            user=user, entity_type="subtask", entity_id=subtask.pk, action="created", source=source,
            metadata={"task_id": str(task.pk), "title": title},
        )  # fmt: skip
    return subtask


def subtask_create_many(
    *, user: Any, task_id: uuid.UUID | str, titles: list[str], source: str = "user"
) -> list[Subtask]:
    """Several subtasks at once (AI confirm-action `create_subtasks`), all or nothing,
    under the same limit as `subtask_create`."""
    cleaned = [clean_title(title, field_name=f"subtasks[{i}].title") for i, title in enumerate(titles)]
    with transaction.atomic():
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        _ensure_not_archived(task)
        limit = gamification_selectors.limits_for_user(user=user).max_subtasks
        count = Subtask.objects.filter(task_id=task.pk).count()
        if count + len(cleaned) > limit:
            raise LimitExceeded(f"A task can have at most {limit} subtasks on your plan.", limit=limit)
        created = Subtask.objects.bulk_create(
            [Subtask(task=task, title=t, order_index=count + i, source=source) for i, t in enumerate(cleaned)]
        )
        for subtask in created:
            recovery_services.activity_record(
                user=user, entity_type="subtask", entity_id=subtask.pk, action="created", source=source,
                metadata={"task_id": str(task.pk), "title": subtask.title},
            )  # fmt: skip
    return created


def subtask_update(
    *,
    user: Any,
    subtask_id: uuid.UUID | str,
    data: dict[str, Any],
    source: str = "user",
) -> SubtaskWriteResult:
    """PATCH /subtasks/{id} `{title?, completed?}` (CONTRACT §4).

    Completing the last open subtask of an open task auto-completes the parent
    (`completed_by: auto`, parent version +1) and records progress once. Reopening a
    subtask leaves the parent as it is (reopening a task is explicit).
    """
    unknown = set(data) - {"title", "completed"}
    if unknown:
        raise unknown_fields_error(sorted(unknown))
    with transaction.atomic():
        subtask = selectors.subtask_get_for_user(user=user, subtask_id=subtask_id, for_update=True)
        task = subtask.task
        _ensure_not_archived(task)
        now = timezone.now()
        update_fields = ["updated_at"]
        if "title" in data:
            subtask.title = clean_title(data["title"])
            update_fields.append("title")
        completing = data.get("completed") is True and not subtask.completed
        reopening = data.get("completed") is False and subtask.completed
        if completing:
            subtask.completed, subtask.completed_at = True, now
            update_fields += ["completed", "completed_at"]
        elif reopening:
            subtask.completed, subtask.completed_at = False, None
            update_fields += ["completed", "completed_at"]
        subtask.save(update_fields=update_fields)

        task_completed = False
        progress = CompletionProgress()
        if completing and not task.completed:
            open_left = Subtask.objects.filter(task_id=task.pk, completed=False).exists()
            if not open_left:
                counted_before = task.completion_counted
                _versioned_update(
                    task=task,
                    version=task.version,
                    changes={
                        "completed": True,
                        "completed_at": now,
                        "completed_by": CompletedBy.AUTO,
                        "completion_counted": True,
                    },
                )
                task = selectors.task_get_annotated(task_id=task.pk)
                subtask.task = task
                task_completed = True
                progress = _after_completion(user=user, task=task, counted_before=counted_before)
                recovery_services.activity_record(
                    user=user, entity_type="task", entity_id=task.pk, action="completed", source=source,
                    metadata={"completed_by": CompletedBy.AUTO, "subtask_id": str(subtask.pk)},
                )  # fmt: skip
        action = "completed" if completing else "reopened" if reopening else "updated"
        recovery_services.activity_record(
            user=user, entity_type="subtask", entity_id=subtask.pk, action=action, source=source,
            metadata={"task_id": str(task.pk), "fields": sorted(data)},
        )  # fmt: skip
    return SubtaskWriteResult(subtask=subtask, task_completed=task_completed, progress=progress)


def subtask_delete(*, user: Any, subtask_id: uuid.UUID | str, source: str = "user") -> None:
    """DELETE /subtasks/{id} (CONTRACT §4): the indices after it move up by one."""
    with transaction.atomic():
        subtask = selectors.subtask_get_for_user(user=user, subtask_id=subtask_id, for_update=True)
        _ensure_not_archived(subtask.task)
        task_id, index = subtask.task_id, subtask.order_index
        subtask.delete()
        Subtask.objects.filter(task_id=task_id, order_index__gt=index).update(order_index=F("order_index") - 1)
        recovery_services.activity_record(
            user=user, entity_type="subtask", entity_id=subtask_id, action="deleted", source=source,
            metadata={"task_id": str(task_id)},
        )  # fmt: skip


def subtask_reorder(
    *, user: Any, task_id: uuid.UUID | str, subtask_ids: list[uuid.UUID], source: str = "user"
) -> list[Subtask]:
    """PUT /tasks/{task_id}/subtasks/reorder (CONTRACT §4): `subtask_ids` must be a
    permutation of exactly that task's subtasks → indices 0..n-1 in that order.

    An id of another user's subtask → 403 (§0: no data through nested ids); unknown,
    missing or repeated ids → 400. One UPDATE; the (task, order_index) unique
    constraint is checked at commit (DEFERRABLE INITIALLY DEFERRED).
    """
    with transaction.atomic():
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        _ensure_not_archived(task)
        current = set(Subtask.objects.filter(task_id=task.pk).values_list("pk", flat=True))
        wanted = list(subtask_ids)
        foreign = [pk for pk in wanted if pk not in current]
        if foreign and selectors.subtask_ids_owned_by_others(user=user, subtask_ids=foreign):
            raise Forbidden("A subtask in the list belongs to another user.")
        problems = []
        if len(set(wanted)) != len(wanted):
            problems.append("Each subtask id may appear only once.")
        if foreign:
            problems.append(f"Not subtasks of this task: {', '.join(sorted(str(pk) for pk in set(foreign)))}.")
        missing = current - set(wanted)
        if missing:
            problems.append(f"Missing subtasks of this task: {', '.join(sorted(str(pk) for pk in missing))}.")
        if problems:
            raise ValidationFailed(
                "subtask_ids must list every subtask of the task exactly once.",
                details=[{"field": "subtask_ids", "message": message} for message in problems],
            )
        if wanted:
            Subtask.objects.filter(task_id=task.pk).update(
                order_index=Case(*[When(pk=pk, then=Value(i)) for i, pk in enumerate(wanted)]),
                updated_at=timezone.now(),
            )
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task.pk, action="subtasks_reordered", source=source,
            metadata={"subtask_ids": [str(pk) for pk in wanted]},
        )  # fmt: skip
        return selectors.subtask_list_for_task(task=task)


# --- focus ------------------------------------------------------------------------------------


def focus_start(*, user: Any, task_id: uuid.UUID | str, source: str = "user") -> FocusSession:
    """POST /focus/start (CONTRACT §11): one open session per user (DB constraint), else 409."""
    with transaction.atomic():
        # Lock the task first (task → user order): the insert's FK checks then never
        # hold a key-share on the user while waiting for a task being deleted.
        task = selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        _ensure_not_archived(task)
        try:
            with transaction.atomic():
                session = FocusSession.objects.create(user=user, task=task, started_at=timezone.now())
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if constraint == "focus_one_open_per_user" or constraint is None:
                raise Conflict("A focus session is already running; end it first.") from exc
            raise
        recovery_services.activity_record(
            user=user, entity_type="focus_session", entity_id=session.pk, action="started", source=source,
            metadata={"task_id": str(task.pk)},
        )  # fmt: skip
    return session


def focus_end(
    *,
    user: Any,
    session_id: uuid.UUID | str | None = None,
    task_id: uuid.UUID | str | None = None,
    source: str = "user",
) -> FocusSession:
    """POST /focus/end `{session_id}` or `{task_id}` (CONTRACT §11).

    Stores the elapsed whole seconds on the session and adds them to the task's
    `focus_time_seconds` with an F() expression. The task's `version` is NOT bumped:
    focus time is not client-editable, the addition commutes with any PATCH, and a
    running timer must not make the user's open edit conflict. An already ended
    session → 409; no open session for the task → 404.
    """
    if (session_id is None) == (task_id is None):
        raise field_error("session_id", "Give exactly one of session_id or task_id.")
    with transaction.atomic():
        if session_id is not None:
            session = selectors.focus_session_get_for_user(user=user, session_id=session_id)
            if session.ended_at is not None:
                raise Conflict("This focus session has already ended.")
        else:
            task = selectors.task_get_for_user(user=user, task_id=task_id)
            session = FocusSession.objects.filter(user=user, task=task, ended_at__isnull=True).first()
            if session is None:
                raise NotFound("No open focus session for this task.")
        # Lock the task before touching the session (task → session, the order a task
        # deletion cascades in).
        list(Task.objects.select_for_update(no_key=True).filter(pk=session.task_id).values_list("pk", flat=True))
        _focus_session_close(session=session, user=user, source=source)
    return session


def _focus_session_close(*, session: FocusSession, user: Any, source: str) -> int:
    """End `session` if still open and add its whole elapsed seconds to the task; returns
    them. Of two concurrent ends exactly one adds the time (conditional UPDATE)."""
    now = timezone.now()
    elapsed = max(0, int((now - session.started_at).total_seconds()))
    ended = FocusSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, duration_seconds=elapsed, updated_at=now
    )
    if ended == 0:
        raise Conflict("This focus session has already ended.")
    session.ended_at, session.duration_seconds, session.updated_at = now, elapsed, now
    Task.objects.filter(pk=session.task_id).update(focus_time_seconds=F("focus_time_seconds") + elapsed, updated_at=now)
    recovery_services.activity_record(
        user=user, entity_type="focus_session", entity_id=session.pk, action="ended", source=source,
        metadata={"task_id": str(session.task_id), "duration_seconds": elapsed},
    )  # fmt: skip
    return elapsed
