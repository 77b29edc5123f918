"""Every write of a task itself: create, update, complete, reopen, archive (CONTRACT §3).

Each use case is one keyword-only function under one `transaction.atomic`. Races are
settled in the database:

* task writes: one conditional `UPDATE ... WHERE id = %s AND version = %s` that also
  increments `version`; zero rows → 409 CONFLICT and nothing changes. `version` is an
  optional precondition (CONTRACT §0): without it the task row is locked first and the
  write applies to the row as it is then, so concurrent versionless writes queue up and
  each adds exactly 1 (no lost update);
* the active-task limit: the owner's user row is locked (`FOR NO KEY UPDATE`) while
  counting, on create, reopen, unarchive and restore (`tasks.rules`).

Lock order is always task → user (a path touching an existing task locks that task
row before it locks or references the user row), and task → subtask, so these paths
cannot deadlock with each other or with a task deletion. Subtasks, focus sessions,
snapshots, templates and reminders have their own modules beside this one.
`source` is "user" for the HTTP API and "ai" for the AI confirm-action (§8).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gamification import selectors as gamification_selectors
from gamification import services as gamification_services
from gamification.services import CompletionProgress
from perpetua.api.exceptions import Archived, VersionConflict, field_error, unknown_fields_error
from recovery import services as recovery_services
from tasks import rules
from tasks.models import CompletedBy, FocusSession, Priority, Subtask, Task, TaskTemplate
from tasks.selectors import tasks as task_selectors
from tasks.services import focus, recurring, reminders

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


@dataclass
class TaskWriteResult:
    """A task after a write, plus the progress its completion produced (if any)."""

    task: Task
    completed_now: bool = False
    progress: CompletionProgress = field(default_factory=CompletionProgress)


def task_after_completion(*, user: Any, task: Task, counted_before: bool) -> CompletionProgress:
    """A completion's consequences (also of a subtask's auto-completion), in lock order
    (task → session → template/user → progress): a focus session still running on the
    task ends (its time counts toward the focus completion, §11), the recurring template
    creates the next instance (§5), then progress is recorded for a genuine first
    completion (§11)."""
    session = FocusSession.objects.filter(task_id=task.pk, ended_at__isnull=True).first()
    if session is not None:
        task.focus_time_seconds += focus.focus_session_close(session=session, user=user, source="system")
    if task.template_id is not None:
        recurring.template_after_instance_completed(task=task)
    if counted_before:
        return CompletionProgress(streak=gamification_selectors.streak_for_user(user=user))
    return gamification_services.progress_record_completion(user=user, task=task)


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
    title = rules.clean_title(title)
    limits = gamification_selectors.limits_for_user(user=user)
    description = rules.clean_description(description, limits=limits)
    priority = rules.clean_priority(priority)
    due_date = rules.clean_due_date(due_date, created_at=now)
    estimated_duration = rules.clean_estimated_duration(estimated_duration)
    with transaction.atomic():
        rules.check_active_task_room(user=user, limits=limits)
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


def task_versioned_update(*, task: Task, version: int, changes: dict[str, Any]) -> None:
    """The optimistic lock: one conditional UPDATE; 0 rows → 409 CONFLICT (CONTRACT §0).

    Then `task` holds the row as written (the changes, `version + 1`, `updated_at`), so a
    response needs no re-read."""
    now = timezone.now()
    updated = Task.objects.filter(pk=task.pk, version=version).update(
        **changes, version=F("version") + 1, updated_at=now
    )
    if updated == 0:
        raise VersionConflict()
    for name, value in changes.items():
        setattr(task, name, value)
    task.version, task.updated_at = version + 1, now


def task_version_check(*, task: Task, version: int | None) -> int:
    """The version the conditional UPDATE must match (CONTRACT §0): the client's, which
    must be the row's (else 409 CONFLICT), or, when it sent none, the row's own — the
    caller holds the row lock then, so no other write can slip in between."""
    if version is None:
        return task.version
    if task.version != version:
        raise VersionConflict()
    return version


def task_update(
    *,
    user: Any,
    task_id: uuid.UUID | str,
    version: int | None = None,
    data: dict[str, Any],
    rrule: str | None = None,
    scope: str | None = None,
    source: str = "user",
) -> TaskWriteResult:
    """PATCH/PUT /tasks/{id} (CONTRACT §3).

    `version` is the optional precondition of §0: given and stale → 409 CONFLICT,
    nothing changes; None → applies to the current row (locked first).
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
        rules.clean_scope(scope)

    # Reopen/unarchive lock the task row before the user row (task → user, as everywhere).
    may_activate = data.get("completed") is False or data.get("archived") is False
    with transaction.atomic():
        task = task_selectors.task_get_with_counts_for_user(
            user=user, task_id=task_id, for_update=may_activate or version is None
        )
        version = task_version_check(task=task, version=version)
        if task.archived and (set(data) != {"archived"} or data["archived"] is not False or rrule is not None):
            raise Archived("Archived tasks accept only {archived: false}.")
        if rrule is not None:
            recurring.ensure_recurrence_editable(task=task)  # judged on the task as it was

        changes: dict[str, Any] = {}
        if "title" in data:
            changes["title"] = rules.clean_title(data["title"])
        if "description" in data:
            changes["description"] = rules.clean_description(
                data["description"], limits=gamification_selectors.limits_for_user(user=user)
            )
        if "priority" in data:
            changes["priority"] = rules.clean_priority(data["priority"])
        if "due_date" in data:
            changes["due_date"] = rules.clean_due_date(data["due_date"], created_at=task.created_at)
        if "estimated_duration" in data:
            changes["estimated_duration"] = rules.clean_estimated_duration(data["estimated_duration"])
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
            rules.check_active_task_room(user=user)

        counted_before = task.completion_counted
        due_changed = "due_date" in changes and changes["due_date"] != task.due_date
        task_versioned_update(task=task, version=version, changes=changes)

        if due_changed:
            reminders.reminders_recompute_for_task(task=task)
        if rrule is not None and scope is not None:
            recurring.template_edit_recurrence_from_instance(task=task, rrule=rrule, scope=scope)
        progress = CompletionProgress()
        if completing:
            progress = task_after_completion(user=user, task=task, counted_before=counted_before)

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


def task_force_complete(
    *, user: Any, task_id: uuid.UUID | str, version: int | None = None, source: str = "user"
) -> TaskWriteResult:
    """POST /tasks/{id}/force-complete (CONTRACT §3): complete the task and every open
    subtask; the subtasks get the task's `completed_at`; `completed_by: force`.

    On an already completed task the remaining open subtasks are completed with the
    task's existing `completed_at` and `completed_by` stays as it was (no second count).
    `version` is optional, as for PATCH (§0).
    """
    with transaction.atomic():
        task = task_selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        version = task_version_check(task=task, version=version)
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
        task_versioned_update(task=task, version=version, changes=changes)
        closed = Subtask.objects.filter(task_id=task.pk, completed=False).update(
            completed=True, completed_at=completed_at, updated_at=timezone.now()
        )
        task = task_selectors.task_get_annotated(task_id=task.pk)
        if completing:
            progress = task_after_completion(user=user, task=task, counted_before=counted_before)
        else:
            progress = CompletionProgress(streak=gamification_selectors.streak_for_user(user=user))
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task.pk, action="force_completed", source=source,
            metadata={"subtasks_completed": closed, "version": task.version},
        )  # fmt: skip
    return TaskWriteResult(task=task, completed_now=completing, progress=progress)
