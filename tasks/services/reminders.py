"""Every write of reminders (CONTRACT §6), and their firing job.

Reads live in `tasks.selectors.reminders`.

Rules enforced here (decisions written down in the README):

* At most MAX_REMINDERS_PER_TASK reminders per task (fired ones included), counted
  while the task row is locked, so concurrent creates cannot exceed it (409
  LIMIT_EXCEEDED). Writes on an archived task are 409 ARCHIVED.
* `before`/`after` need the task's due date and `offset_minutes`; the offset's
  magnitude is used (the SPA sends -15 for "15 minutes before"), the value is stored
  and echoed as sent: scheduled_at = due ∓ |offset|; a `scheduled_at` sent with them
  is ignored (the SPA's form always sends one). `absolute` takes `scheduled_at` (in
  the future) and an offset of 0 or null, stored as null (the form's "at due time").
* Changing a task's due date recomputes the `scheduled_at` of its UNFIRED relative
  reminders. Clearing the due date leaves them dormant (they never fire while the task
  has no due date) until a new due date re-arms them.
* A PATCH that moves a fired reminder to a future time re-arms it (fired → false).
* Firing: every due, unfired reminder fires exactly once, also with several workers:
  rows are claimed with `SELECT ... FOR UPDATE SKIP LOCKED`, marked fired and their
  in-app notification (+ web push for `push`) is created in the same transaction.
  Reminders of completed or archived tasks are marked fired (`fired_at` set) without a
  notification. Each reminder write schedules `reminders_fire_due_job` at its
  `scheduled_at`, in the same transaction; `manage.py fire_reminders` (cron, every minute) is the
  safety net.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.services import notification_create
from perpetua.api.exceptions import Archived, LimitExceeded, NotFound, field_error, unknown_fields_error
from perpetua.api.serializers import format_datetime
from perpetua.jobs import enqueue, job
from recovery.services import activity_record
from tasks.models import Reminder, ReminderMethod, ReminderType, Task
from tasks.selectors.reminders import reminder_get_for_user
from tasks.selectors.tasks import task_get_for_user

logger = logging.getLogger(__name__)

RELATIVE_TYPES = (ReminderType.BEFORE, ReminderType.AFTER)
REMINDER_WRITABLE_FIELDS = ("type", "offset_minutes", "scheduled_at", "method")
FIRE_BATCH_SIZE = 200
NOTIFICATION_TITLE_MAX = 100


# --- scheduling rules ---------------------------------------------------------------------------


def relative_scheduled_at(*, due_date: dt.datetime, type: str, offset_minutes: int) -> dt.datetime:
    """due ∓ |offset|: the sign the client sent does not matter, the type does (§6)."""
    delta = dt.timedelta(minutes=abs(offset_minutes))
    try:
        return due_date - delta if type == ReminderType.BEFORE else due_date + delta
    except OverflowError:
        raise field_error("offset_minutes", "The reminder time would fall outside the supported date range.") from None


def _resolve_schedule(
    *, task: Task, type: str, offset_minutes: int | None, scheduled_at: dt.datetime | None, now: dt.datetime
) -> tuple[int | None, dt.datetime]:
    """(offset to store, scheduled_at) for a reminder of `type`, or 400."""
    if type not in ReminderType.values:
        raise field_error("type", f"Must be one of {', '.join(ReminderType.values)}.")
    if type in RELATIVE_TYPES:
        if offset_minutes is None:
            raise field_error("offset_minutes", f"Required for a '{type}' reminder.")
        if isinstance(offset_minutes, bool) or not isinstance(offset_minutes, int):
            raise field_error("offset_minutes", "Must be an integer.")
        limit = settings.REMINDER_MAX_OFFSET_MINUTES
        if abs(offset_minutes) > limit:
            raise field_error("offset_minutes", f"Its magnitude must be at most {limit} minutes.")
        if task.due_date is None:
            raise field_error("type", f"A '{type}' reminder needs a task with a due date.")
        when = relative_scheduled_at(due_date=task.due_date, type=type, offset_minutes=offset_minutes)
        if when <= now:
            raise field_error("offset_minutes", "The reminder time would be in the past.")
        return offset_minutes, when
    offset = _absolute_offset(offset_minutes)
    if scheduled_at is None:
        raise field_error("scheduled_at", "Required for an 'absolute' reminder.")
    if not isinstance(scheduled_at, dt.datetime) or timezone.is_naive(scheduled_at):
        raise field_error("scheduled_at", "Must be an ISO-8601 datetime with a timezone.")
    ahead = settings.REMINDER_MAX_AHEAD_DAYS
    if not now < scheduled_at <= now + dt.timedelta(days=ahead):
        raise field_error("scheduled_at", f"Must be in the future, at most {ahead} days from now.")
    return offset, scheduled_at


def _absolute_offset(offset_minutes: int | None) -> None:
    """An `absolute` reminder has no offset: 0 or null are accepted and stored as null (§6)."""
    if offset_minutes not in (None, 0) or isinstance(offset_minutes, bool):
        raise field_error("offset_minutes", "An 'absolute' reminder takes no offset: omit it, or send 0 or null.")
    return None


def _clean_method(method: Any) -> str:
    if method not in ReminderMethod.values:
        raise field_error("method", f"Must be one of {', '.join(ReminderMethod.values)}.")
    return method


def _schedule_firing(when: dt.datetime) -> None:
    """Run the firing job at `when`, once the write commits (none on rollback)."""
    enqueue(reminders_fire_due_job, run_after=when)


def _lock_task(*, user: Any, task_id: uuid.UUID | str) -> Task:
    """The user's task, row-locked (task → reminder lock order), not archived."""
    task = task_get_for_user(user=user, task_id=task_id, for_update=True)
    if task.archived:
        raise Archived()
    return task


# --- services -----------------------------------------------------------------------------------


def reminder_create(
    *,
    user: Any,
    task_id: uuid.UUID | str,
    type: str,
    offset_minutes: int | None = None,
    scheduled_at: dt.datetime | None = None,
    method: str = ReminderMethod.IN_APP,
    source: str = "user",
) -> Reminder:
    """POST /tasks/{task_id}/reminders and POST /reminders `{task_id}` (CONTRACT §6):
    the task is the user's (403/404), not archived, and has room for one more."""
    method = _clean_method(method)
    now = timezone.now()
    with transaction.atomic():
        task = _lock_task(user=user, task_id=task_id)
        offset, when = _resolve_schedule(
            task=task, type=type, offset_minutes=offset_minutes, scheduled_at=scheduled_at, now=now
        )
        limit = settings.MAX_REMINDERS_PER_TASK
        if Reminder.objects.filter(task_id=task.pk).count() >= limit:
            raise LimitExceeded(f"A task can have at most {limit} reminders.", limit=limit)
        reminder = Reminder.objects.create(
            user=user, task=task, type=type, offset_minutes=offset, scheduled_at=when, method=method
        )
        activity_record(
            user=user, entity_type="reminder", entity_id=reminder.pk, action="created", source=source,
            metadata={"task_id": str(task.pk), "type": type, "scheduled_at": when.isoformat()},
        )  # fmt: skip
        _schedule_firing(when)
    return reminder


def reminder_update(*, user: Any, reminder_id: uuid.UUID | str, data: dict[str, Any], source: str = "user") -> Reminder:
    """PATCH /reminders/{id} (CONTRACT §0, §6): omitted fields unchanged; the result must
    be a valid reminder as a whole (switching to `absolute` needs `scheduled_at`, to a
    relative type an offset). Moving a fired reminder to a future time re-arms it."""
    unknown = sorted(set(data) - set(REMINDER_WRITABLE_FIELDS))
    if unknown:
        raise unknown_fields_error(unknown)
    for name in ("type", "method"):
        if name in data and data[name] is None:
            raise field_error(name, "May not be null.")
    now = timezone.now()
    with transaction.atomic():
        owner_check = reminder_get_for_user(user=user, reminder_id=reminder_id)
        task = _lock_task(user=user, task_id=owner_check.task_id)
        reminder = Reminder.objects.select_for_update(no_key=True).filter(pk=reminder_id).first()
        if reminder is None:  # deleted while we waited for the task lock
            raise NotFound("Reminder not found.")
        new_type = data.get("type", reminder.type)
        offset, when = reminder.offset_minutes, reminder.scheduled_at
        if any(name in data for name in ("type", "offset_minutes", "scheduled_at")):
            if new_type in RELATIVE_TYPES:
                kept = reminder.offset_minutes if reminder.type in RELATIVE_TYPES else None
                offset, when = _resolve_schedule(
                    task=task,
                    type=new_type,
                    offset_minutes=data.get("offset_minutes", kept),
                    scheduled_at=data.get("scheduled_at"),
                    now=now,
                )
            elif "scheduled_at" in data:
                offset, when = _resolve_schedule(
                    task=task,
                    type=new_type,
                    offset_minutes=data.get("offset_minutes"),
                    scheduled_at=data["scheduled_at"],
                    now=now,
                )
            elif reminder.type == ReminderType.ABSOLUTE and new_type == ReminderType.ABSOLUTE:
                offset = _absolute_offset(data.get("offset_minutes"))
            else:
                raise field_error("scheduled_at", "Required when switching to an 'absolute' reminder.")
        update_fields = ["type", "offset_minutes", "scheduled_at", "updated_at"]
        moved = when != reminder.scheduled_at
        reminder.type, reminder.offset_minutes, reminder.scheduled_at = new_type, offset, when
        if "method" in data:
            reminder.method = _clean_method(data["method"])
            update_fields.append("method")
        if moved and reminder.fired and when > now:
            reminder.fired, reminder.fired_at = False, None
            update_fields += ["fired", "fired_at"]
        reminder.save(update_fields=update_fields)
        activity_record(
            user=user, entity_type="reminder", entity_id=reminder.pk, action="updated", source=source,
            metadata={"task_id": str(task.pk), "fields": sorted(data), "scheduled_at": when.isoformat()},
        )  # fmt: skip
        if moved and not reminder.fired:
            _schedule_firing(when)
    return reminder


def reminder_delete(*, user: Any, reminder_id: uuid.UUID | str, source: str = "user") -> None:
    """DELETE /reminders/{id} (CONTRACT §6); 409 ARCHIVED on an archived task."""
    with transaction.atomic():
        reminder = reminder_get_for_user(user=user, reminder_id=reminder_id)
        task = _lock_task(user=user, task_id=reminder.task_id)
        Reminder.objects.filter(pk=reminder.pk).delete()
        activity_record(
            user=user, entity_type="reminder", entity_id=reminder.pk, action="deleted", source=source,
            metadata={"task_id": str(task.pk)},
        )  # fmt: skip


def reminders_recompute_for_task(*, task: Task) -> None:
    """Called inside the updating transaction when a task's due date changed (CONTRACT
    §6): its `before`/`after` reminders get scheduled_at = new due ∓ |offset|. One that
    already fired and now falls in the future is re-armed (a postponed task reminds
    again); one that fired and still falls in the past stays fired. With no due date
    they stay as they are (dormant, see module docstring). Two queries."""
    if task.due_date is None:
        return
    changed: list[Reminder] = []
    now = timezone.now()
    for reminder in Reminder.objects.filter(task_id=task.pk, type__in=RELATIVE_TYPES):
        offset = reminder.offset_minutes or 0
        when = relative_scheduled_at(due_date=task.due_date, type=reminder.type, offset_minutes=offset)
        if when == reminder.scheduled_at:
            continue
        reminder.scheduled_at, reminder.updated_at = when, now
        if reminder.fired and when > now:
            reminder.fired, reminder.fired_at = False, None
        changed.append(reminder)
    if not changed:
        return
    Reminder.objects.bulk_update(changed, ["scheduled_at", "fired", "fired_at", "updated_at"])
    for reminder in changed:
        activity_record(
            user=task.user_id, entity_type="reminder", entity_id=reminder.pk, action="rescheduled", source="system",
            metadata={"task_id": str(task.pk), "scheduled_at": reminder.scheduled_at.isoformat()},
        )  # fmt: skip
    for when in sorted({r.scheduled_at for r in changed if not r.fired}):
        _schedule_firing(when)


# --- firing -------------------------------------------------------------------------------------


def _minutes_text(minutes: int) -> str:
    hours, rest = divmod(abs(minutes), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{rest} minute{'s' if rest != 1 else ''}"


def _notification_body(reminder: Reminder, task: Task) -> str:
    if reminder.type == ReminderType.BEFORE and reminder.offset_minutes:
        return f"Due in {_minutes_text(reminder.offset_minutes)}."
    if reminder.type == ReminderType.AFTER and reminder.offset_minutes:
        return f"Was due {_minutes_text(reminder.offset_minutes)} ago."
    if task.due_date is not None:
        return f"Due {format_datetime(task.due_date)}."
    return "Reminder for your task."


def _due_batch(*, moment: dt.datetime, exclude: set[Any], size: int) -> list[Reminder]:
    """Claim up to `size` due, unfired reminders: rows locked by another worker are
    skipped, rows it fired meanwhile no longer match (re-checked under the lock)."""
    return list(
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("task", "user")
        .filter(fired=False, scheduled_at__lte=moment)
        .exclude(type__in=RELATIVE_TYPES, task__due_date__isnull=True)
        .exclude(pk__in=exclude)
        .order_by("scheduled_at", "id")[:size]
    )


def reminders_fire_due(*, now: dt.datetime | None = None, batch_size: int = FIRE_BATCH_SIZE) -> int:
    """Fire every reminder due at `now` (default: the current time) exactly once
    (CONTRACT §6, §15); returns how many notifications were created.

    Each batch is one transaction: claim (SKIP LOCKED), create the notifications, mark
    the rows fired. A notification that fails is logged and its reminder stays unfired
    (its savepoint alone is rolled back), to be retried by the next run.
    """
    fired_count = 0
    failed: set[Any] = set()
    while True:
        with transaction.atomic():
            moment = now or timezone.now()
            batch = _due_batch(moment=moment, exclude=failed, size=batch_size)
            done: list[Any] = []
            for reminder in batch:
                task = reminder.task
                if task.completed or task.archived:
                    done.append(reminder.pk)
                    activity_record(
                        user=reminder.user, entity_type="reminder", entity_id=reminder.pk, action="skipped",
                        source="system", metadata={"task_id": str(task.pk), "reason": "task completed or archived"},
                    )  # fmt: skip
                    continue
                try:
                    with transaction.atomic():
                        notification_create(
                            user=reminder.user,
                            type="reminder",
                            title=task.title[:NOTIFICATION_TITLE_MAX],
                            body=_notification_body(reminder, task),
                            action_url=f"/tasks/{task.pk}",
                            task_id=task.pk,
                            push=reminder.method == ReminderMethod.PUSH,
                        )
                        activity_record(
                            user=reminder.user, entity_type="reminder", entity_id=reminder.pk, action="fired",
                            source="system", metadata={"task_id": str(task.pk), "method": reminder.method},
                        )  # fmt: skip
                except Exception:
                    logger.exception("reminder %s: notification failed; it stays unfired", reminder.pk)
                    failed.add(reminder.pk)
                    continue
                done.append(reminder.pk)
                fired_count += 1
            if done:
                stamp = timezone.now()
                Reminder.objects.filter(pk__in=done).update(fired=True, fired_at=stamp, updated_at=stamp)
        if len(batch) < batch_size:
            return fired_count


@job()
def reminders_fire_due_job() -> int:
    """The worker's entry point (enqueued with `run_after=scheduled_at` by every write)."""
    return reminders_fire_due()
