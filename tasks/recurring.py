"""Recurring templates (CONTRACT §5): RRULE validation, next occurrences, instance generation.

Services and selectors of `TaskTemplate`. A template is an RFC 5545 RRULE anchored at
`dtstart`; its instances are ordinary `Task` rows with `template_id` set.

Rules enforced here (decisions written down in the README):

* `rrule` is ONE RRULE (an optional `RRULE:` prefix is accepted and dropped; DTSTART,
  RDATE, EXDATE or several lines are refused), parsed by python-dateutil; its errors
  are 400 VALIDATION_ERROR with the parser's message on field `rrule`. FREQ is DAILY
  or coarser, BYHOUR/BYMINUTE/BYSECOND/BYYEARDAY/BYWEEKNO are refused (the time of day
  comes from `dtstart`), and rules that can never occur (BYMONTH=2;BYMONTHDAY=30,
  INTERVAL=0, ...) are refused up front: dateutil would otherwise search until the
  year 9999 (or forever) inside a request.
* Occurrences are computed in the owner's timezone (`User.timezone`), so "every
  Monday at 09:00" stays 09:00 local across DST; they are stored in UTC.
* `next_due` is the due date the next generated instance gets: the first occurrence
  after now when the rule or anchor changes, then the occurrence after the last
  generated one. A rule with no further occurrence deactivates the template
  (`active: false`, `next_due: null`).
* Generated instances are not bound by the 30-day due-date window of POST /tasks (their
  due date comes from the rule) but they do count against the active-task limit.
* "Open" instance = neither completed nor archived. At most one is created
  automatically: completion generates the next one only when no other is open;
  `generate` is 409 CONFLICT while one is open.
* Lock order is task(s) → template → user, the order a completion takes them (the
  completed task row is locked by its UPDATE first), so these paths never deadlock.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from gamification.selectors import limits_for_user
from perpetua.api.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error, unknown_fields_error
from perpetua.jobs import enqueue, job, retry_delay_seconds
from recovery.services import activity_record
from tasks import services as task_services
from tasks.models import Priority, Task, TaskTemplate

logger = logging.getLogger(__name__)

RRULE_MAX_LENGTH = 500
ALLOWED_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
ALLOWED_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"})
MAX_INTERVAL = 1000
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap year: Feb 29 exists
SCOPES = ("future", "template")
TEMPLATE_WRITABLE_FIELDS = ("title", "description", "priority", "estimated_duration", "rrule", "dtstart", "active")


# --- RRULE parsing ------------------------------------------------------------------------------


def _rrule_error(message: str) -> ValidationFailed:
    return field_error("rrule", message, "Invalid RRULE.")


def rrule_normalize(value: str) -> str:
    """Stored form of a rule: trimmed, upper-case, without an `RRULE:` prefix."""
    text = value.strip()
    if text[:6].upper() == "RRULE:":
        text = text[6:].strip()
    return text.upper()


def _int_list(parts: dict[str, str], name: str, *, low: int, high: int, nonzero_abs: bool = False) -> list[int]:
    values: list[int] = []
    for raw in parts.get(name, "").split(","):
        if not raw:
            continue
        try:
            number = int(raw)
        except ValueError:
            raise _rrule_error(f"invalid '{name}': {raw}") from None
        magnitude = abs(number) if nonzero_abs else number
        if number == 0 or not low <= magnitude <= high:
            span = f"±{low}..{high}" if nonzero_abs else f"{low}..{high}"
            raise _rrule_error(f"{name} values must be in {span}.")
        values.append(number)
    return values


def _check_rule_parts(text: str) -> None:
    """Semantics dateutil accepts but that would never occur, or hang the search."""
    parts = dict(item.split("=", 1) for item in text.split(";") if item)
    unsupported = sorted(set(parts) - ALLOWED_PARTS)
    if unsupported:
        raise _rrule_error(
            f"{', '.join(unsupported)} not supported: the time of day comes from dtstart "
            f"(supported: {', '.join(sorted(ALLOWED_PARTS))})."
        )
    freq = parts.get("FREQ", "")
    if freq not in ALLOWED_FREQS:
        raise _rrule_error(f"FREQ must be one of {', '.join(ALLOWED_FREQS)}.")
    if "INTERVAL" in parts:
        _int_list(parts, "INTERVAL", low=1, high=MAX_INTERVAL)
    if "COUNT" in parts:
        _int_list(parts, "COUNT", low=1, high=100_000)
    months = _int_list(parts, "BYMONTH", low=1, high=12) or list(range(1, 13))
    month_days = _int_list(parts, "BYMONTHDAY", low=1, high=31, nonzero_abs=True)
    if month_days and not any(abs(day) <= _DAYS_IN_MONTH[month - 1] for month in months for day in month_days):
        raise _rrule_error("The rule never occurs: none of its months has that day.")
    coarse = freq in ("MONTHLY", "YEARLY")
    if "BYSETPOS" in parts:
        if not coarse:
            raise _rrule_error("BYSETPOS is supported with FREQ=MONTHLY or FREQ=YEARLY only.")
        _int_list(parts, "BYSETPOS", low=1, high=366, nonzero_abs=True)
    if not coarse and any(day.strip()[:1] in "+-0123456789" for day in parts.get("BYDAY", "").split(",") if day):
        raise _rrule_error("Numbered BYDAY values (e.g. 1MO, -1FR) need FREQ=MONTHLY or FREQ=YEARLY.")


def rrule_build(*, rrule: str, dtstart: dt.datetime, tz: dt.tzinfo = dt.UTC) -> RRule:
    """The dateutil rule for `rrule` anchored at `dtstart` (seen in `tz`), or 400 on field `rrule`."""
    if not isinstance(rrule, str):
        raise _rrule_error("Must be a string.")
    text = rrule_normalize(rrule)
    if not text:
        raise _rrule_error("The rule is empty.")
    if len(text) > RRULE_MAX_LENGTH:
        raise _rrule_error(f"Must be at most {RRULE_MAX_LENGTH} characters.")
    if any(char in text for char in "\r\n:"):
        raise _rrule_error("Only a single RRULE is supported (no DTSTART, RDATE, EXDATE, EXRULE or further lines).")
    try:
        rule = rrulestr(text, dtstart=dtstart.astimezone(tz).replace(microsecond=0))
    except OverflowError:
        raise field_error("dtstart", "Out of range.") from None
    except ValueError as exc:
        raise _rrule_error(str(exc) or "Invalid RRULE.") from None
    except TypeError:  # dateutil's way of saying FREQ is missing
        raise _rrule_error("FREQ is required.") from None
    if not isinstance(rule, RRule):
        raise _rrule_error("Only a single RRULE is supported.")
    _check_rule_parts(text)
    return rule


def _user_tz(user: Any) -> dt.tzinfo:
    try:
        return ZoneInfo(getattr(user, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _template_rule(template: TaskTemplate) -> RRule:
    return rrule_build(rrule=template.rrule, dtstart=template.dtstart, tz=_user_tz(template.user))


def occurrence_after(rule: RRule, moment: dt.datetime, *, inclusive: bool = False) -> dt.datetime | None:
    """The rule's first occurrence after `moment` (at or after with `inclusive`), in UTC."""
    found = rule.after(moment, inc=inclusive)
    return None if found is None else found.astimezone(dt.UTC)


# --- selectors ----------------------------------------------------------------------------------


def template_list(*, user: Any, active: bool | None = None) -> QuerySet[TaskTemplate]:
    """`GET /templates`: the user's templates, newest first (two queries per page)."""
    queryset = TaskTemplate.objects.filter(user=user).order_by("-created_at", "-id")
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset


def template_get_for_user(*, user: Any, template_id: uuid.UUID | str, for_update: bool = False) -> TaskTemplate:
    """The user's template, or NotFound (404) / Forbidden (403) (CONTRACT §0)."""
    queryset = TaskTemplate.objects.all()
    if for_update:
        queryset = queryset.select_for_update(no_key=True)
    template = queryset.filter(pk=template_id).first()
    if template is None:
        raise NotFound("Template not found.")
    if template.user_id != user.pk:
        raise Forbidden()
    template.user = user
    return template


def _open_instances(template_id: Any) -> QuerySet[Task]:
    return Task.objects.filter(template_id=template_id, completed=False, archived=False)


# --- template CRUD ------------------------------------------------------------------------------


def _clean_fields(*, user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Title, description, priority and duration follow the task rules (CONTRACT §3),
    checked by the same functions as POST /tasks."""
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = task_services.clean_title(data["title"])
    if "description" in data:
        cleaned["description"] = task_services.clean_description(data["description"], limits=limits_for_user(user=user))
    if "priority" in data:
        cleaned["priority"] = task_services.clean_priority(data["priority"])
    if "estimated_duration" in data:
        cleaned["estimated_duration"] = task_services.clean_estimated_duration(data["estimated_duration"])
    return cleaned


def _clean_dtstart(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise field_error("dtstart", "Must be an ISO-8601 datetime with a timezone.")
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _check_anchor_age(*, rrule: str, dtstart: dt.datetime) -> None:
    """Every next-occurrence search walks the rule from its anchor: without COUNT to end
    it, an anchor older than TEMPLATE_DTSTART_MAX_DAYS would make each one a long loop."""
    if "COUNT=" in rrule_normalize(rrule):
        return
    if dtstart < timezone.now() - dt.timedelta(days=settings.TEMPLATE_DTSTART_MAX_DAYS):
        raise field_error(
            "dtstart", f"Must be at most {settings.TEMPLATE_DTSTART_MAX_DAYS} days in the past (or the rule has COUNT)."
        )


def _schedule_from_now(template: TaskTemplate, rule: RRule, *, after_open_instance: bool = True) -> None:
    """next_due = first occurrence after now, or after the open instance's due date when
    that is later; none → deactivated (CONTRACT §5)."""
    base = timezone.now()
    if after_open_instance:
        open_due = (
            _open_instances(template.pk)
            .exclude(due_date__isnull=True)
            .order_by("-due_date")
            .values_list("due_date", flat=True)
            .first()
        )
        if open_due is not None and open_due > base:
            base = open_due
    template.next_due = occurrence_after(rule, base)
    if template.next_due is None:
        template.active = False


def template_create(
    *,
    user: Any,
    title: str,
    rrule: str,
    description: str = "",
    priority: str = Priority.MEDIUM,
    estimated_duration: int | None = None,
    dtstart: dt.datetime | None = None,
    source: str = "user",
) -> TaskTemplate:
    """POST /templates (CONTRACT §5). `dtstart` (the anchor) defaults to now; `next_due`
    is the first occurrence after now; a rule without one is stored inactive."""
    data = {"title": title, "description": description, "priority": priority, "estimated_duration": estimated_duration}
    fields = _clean_fields(user=user, data=data)
    anchor = _clean_dtstart(dtstart) if dtstart is not None else timezone.now().replace(microsecond=0)
    rule = rrule_build(rrule=rrule, dtstart=anchor, tz=_user_tz(user))
    _check_anchor_age(rrule=rrule, dtstart=anchor)
    template = TaskTemplate(user=user, rrule=rrule_normalize(rrule), dtstart=anchor, active=True, **fields)
    _schedule_from_now(template, rule, after_open_instance=False)
    with transaction.atomic():
        template.save()
        activity_record(
            user=user, entity_type="template", entity_id=template.pk, action="created", source=source,
            metadata={"rrule": template.rrule, "active": template.active},
        )  # fmt: skip
    return template


def template_update(
    *, user: Any, template_id: uuid.UUID | str, data: dict[str, Any], source: str = "user"
) -> TaskTemplate:
    """PATCH /templates/{id} (CONTRACT §0, §5). A new `rrule` or `dtstart` recomputes
    `next_due` from now; `active: true` resumes a paused template (400 when its rule has
    no future occurrence), `active: false` pauses it. Existing instances are unchanged."""
    unknown = sorted(set(data) - set(TEMPLATE_WRITABLE_FIELDS))
    if unknown:
        raise unknown_fields_error(unknown)
    for name in ("title", "rrule", "dtstart", "active", "priority"):
        if name in data and data[name] is None:
            raise field_error(name, "May not be null.")
    with transaction.atomic():
        template = template_get_for_user(user=user, template_id=template_id, for_update=True)
        changes = _clean_fields(user=user, data=data)
        if "dtstart" in data:
            changes["dtstart"] = _clean_dtstart(data["dtstart"])
        if "rrule" in data:
            changes["rrule"] = rrule_normalize(data["rrule"]) if isinstance(data["rrule"], str) else data["rrule"]
        for name, value in changes.items():
            setattr(template, name, value)
        # Paused (inactive with a next_due) stays paused on a rule edit; an exhausted
        # template (inactive, no next_due) comes back when its new rule has occurrences.
        paused = not template.active and template.next_due is not None
        if "rrule" in changes or "dtstart" in changes or data.get("active") is True:
            rule = _template_rule(template)  # 400 on a bad rule
            if "rrule" in changes or "dtstart" in changes:
                _check_anchor_age(rrule=template.rrule, dtstart=template.dtstart)
            template.active = True
            _schedule_from_now(template, rule)
            if data.get("active") is True and not template.active:
                raise field_error("active", "The rule has no future occurrence; change rrule or dtstart first.")
            if paused and "active" not in data:
                template.active = False
        if data.get("active") is False:
            template.active = False
        template.save()
        activity_record(
            user=user, entity_type="template", entity_id=template.pk, action="updated", source=source,
            metadata={"fields": sorted(data), "rrule": template.rrule, "active": template.active},
        )  # fmt: skip
    return template


def template_delete(*, user: Any, template_id: uuid.UUID | str, source: str = "user") -> None:
    """DELETE /templates/{id} (CONTRACT §5): the instances stay, with `template_id` null
    (each gets `version` + 1, since its representation changed)."""
    with transaction.atomic():
        template = template_get_for_user(user=user, template_id=template_id)
        # task(s) → template: lock the instances first, as a completion does.
        list(Task.objects.select_for_update(no_key=True).filter(template_id=template.pk).order_by("pk").values("pk"))
        template = template_get_for_user(user=user, template_id=template_id, for_update=True)
        now = timezone.now()
        detached = Task.objects.filter(template_id=template.pk).update(
            template=None, version=F("version") + 1, updated_at=now
        )
        TaskTemplate.objects.filter(pk=template.pk).delete()
        activity_record(
            user=user, entity_type="template", entity_id=template.pk, action="deleted", source=source,
            metadata={"title": template.title, "instances_detached": detached},
        )  # fmt: skip


# --- generation --------------------------------------------------------------------------------


def _deactivate(template: TaskTemplate, *, reason: str) -> None:
    template.active = False
    template.next_due = None
    template.save(update_fields=["active", "next_due", "updated_at"])
    activity_record(
        user=template.user, entity_type="template", entity_id=template.pk, action="deactivated", source="system",
        metadata={"reason": reason},
    )  # fmt: skip


def _instance_create(*, template: TaskTemplate, due: dt.datetime, source: str) -> Task:
    """One instance with the template's fields, under the active-task limit (CONTRACT §3),
    race-safe as POST /tasks: the owner's row is locked while counting."""
    user = template.user
    task_services.check_active_task_room(user=user)
    task = Task.objects.create(
        user_id=template.user_id,
        template=template,
        title=template.title,
        description=template.description,
        priority=template.priority,
        estimated_duration=template.estimated_duration,
        due_date=due,
    )
    activity_record(
        user=user, entity_type="task", entity_id=task.pk, action="created", source=source,
        metadata={"template_id": str(template.pk)},
    )  # fmt: skip
    return task


def _advance(template: TaskTemplate, rule: RRule, *, generated_due: dt.datetime, task: Task, source: str) -> None:
    template.next_due = occurrence_after(rule, generated_due)
    if template.next_due is None:
        template.active = False  # the rule is exhausted (COUNT/UNTIL)
    template.save(update_fields=["next_due", "active", "updated_at"])
    activity_record(
        user=template.user, entity_type="template", entity_id=template.pk, action="generated", source=source,
        metadata={"task_id": str(task.pk), "due_date": generated_due.isoformat(), "active": template.active},
    )  # fmt: skip


def template_generate(*, user: Any, template_id: uuid.UUID | str, source: str = "user") -> Task:
    """POST /templates/{id}/generate (CONTRACT §5): create the next instance now, due at
    `next_due`, and advance `next_due`. When `next_due` already passed, the missed
    occurrences are skipped (due = first occurrence from now on). 409 CONFLICT when the
    template is inactive or an instance is still open; 409 LIMIT_EXCEEDED at the
    active-task limit."""
    with transaction.atomic():
        template = template_get_for_user(user=user, template_id=template_id, for_update=True)
        if not template.active or template.next_due is None:
            raise Conflict("This template is inactive: its rule has no further occurrence or it is paused.")
        if _open_instances(template.pk).exists():
            raise Conflict("An open instance of this template exists already; complete it first.")
        rule = _template_rule(template)
        due = template.next_due
        now = timezone.now()
        if due < now:
            due = occurrence_after(rule, now, inclusive=True) or due
        task = _instance_create(template=template, due=due, source=source)
        _advance(template, rule, generated_due=due, task=task, source=source)
    return task


def _generate_next(*, template_id: Any, after: dt.datetime, exclude_task_id: Any = None) -> Task | None:
    """The instance following `after` (strictly), unless the template is gone/inactive or
    an instance is open. Caller holds a transaction."""
    template = TaskTemplate.objects.select_for_update(no_key=True).select_related("user").filter(pk=template_id).first()
    if template is None or not template.active:
        return None
    if _open_instances(template.pk).exclude(pk=exclude_task_id).exists():
        return None
    rule = _template_rule(template)
    due = occurrence_after(rule, after)
    if due is None:
        _deactivate(template, reason="rule exhausted")
        return None
    task = _instance_create(template=template, due=due, source="system")
    _advance(template, rule, generated_due=due, task=task, source="system")
    return task


@job()
def template_generate_next_job(template_id: str, after_iso: str) -> str | None:
    """Worker retry of a generation that failed during a completion (CONTRACT §5, §15).

    Idempotent: the template row lock and the open-instance check make a repeated run
    a no-op. A failure raises, and `perpetua.jobs.job` re-enqueues it with backoff until
    JOB_MAX_ATTEMPTS runs have failed.
    """
    with transaction.atomic():
        task = _generate_next(template_id=template_id, after=dt.datetime.fromisoformat(after_iso))
    return None if task is None else str(task.pk)


def template_after_instance_completed(*, task: Task) -> None:
    """Called inside the completing transaction (CONTRACT §5): create the next instance,
    due at the next occurrence strictly after the completed one's due date (its
    completion time when it had none), unless an instance is open already; an exhausted
    rule deactivates the template.

    Generation runs in a savepoint: if it fails (limit reached, bad data, database
    error), only the savepoint is rolled back, the completion still commits, the failure
    is logged and `template_generate_next_job` is enqueued in the same transaction for the worker.
    """
    if task.template_id is None:
        return
    after = task.due_date or task.completed_at or timezone.now()
    try:
        with transaction.atomic():
            _generate_next(template_id=task.template_id, after=after, exclude_task_id=task.pk)
    except Exception:
        logger.exception(
            "recurring generation failed for template %s after task %s; retry enqueued", task.template_id, task.pk
        )
        enqueue(
            template_generate_next_job,
            str(task.template_id),
            after.isoformat(),
            run_after=timedelta(seconds=retry_delay_seconds(1)),
        )


def ensure_recurrence_editable(*, task: Task) -> None:
    """Recurrence is edited from an open instance not yet due (CONTRACT §5): a task that
    is not an instance → 400; a completed or past instance → 409. Judged on the task as
    it was before the PATCH that carries the edit."""
    if task.template_id is None:
        raise _rrule_error("This task is not an instance of a recurring template.")
    if task.completed:
        raise Conflict("The recurrence of a completed instance cannot be edited.")
    if task.due_date is not None and task.due_date < timezone.now():
        raise Conflict("The recurrence of a past instance cannot be edited.")


def template_edit_recurrence_from_instance(*, task: Task, rrule: str, scope: str) -> None:
    """PATCH /tasks/{id} with `rrule` + `scope` (CONTRACT §5), inside the task's update.

    * `scope: "template"`: only the template's rule changes (and its `next_due`);
    * `scope: "future"`: the rule changes AND every open instance not yet due (this one
      included) moves to the new rule's next occurrence; their relative reminders follow.
    The caller checked `ensure_recurrence_editable` on the task before its update; a bad
    rule → 400. `task.version` is bumped by the caller's update; other moved instances get +1.
    """
    from tasks import reminders  # reminders do not import us

    if scope not in SCOPES:
        raise field_error("scope", f"Must be one of {', '.join(SCOPES)}.")
    if task.template_id is None:
        raise _rrule_error("This task is not an instance of a recurring template.")
    now = timezone.now()
    with transaction.atomic():
        moved: list[Task] = []
        if scope == "future":
            # task(s) → template: lock the instances to move before the template.
            moved = list(
                _open_instances(task.template_id)
                .filter(Q(due_date__gte=now) | Q(due_date__isnull=True))
                .select_for_update(no_key=True)
                .order_by("pk")
            )
        template = TaskTemplate.objects.select_for_update(no_key=True).select_related("user").get(pk=task.template_id)
        if template.user_id != task.user_id:  # cannot happen through the API; never cross users
            raise Forbidden()
        template.rrule = rrule_normalize(rrule) if isinstance(rrule, str) else rrule
        rule = _template_rule(template)
        template.active = True
        if scope == "future":
            first = occurrence_after(rule, now)
            if first is None:
                template.active, template.next_due = False, None
            else:
                template.next_due = occurrence_after(rule, first)
                template.active = template.next_due is not None
                for instance in moved:
                    if instance.due_date == first:
                        continue
                    if instance.pk == task.pk:
                        Task.objects.filter(pk=task.pk).update(due_date=first, updated_at=now)
                        task.due_date = first
                        reminders.reminders_recompute_for_task(task=task)
                        continue
                    Task.objects.filter(pk=instance.pk).update(due_date=first, version=F("version") + 1, updated_at=now)
                    instance.due_date = first
                    reminders.reminders_recompute_for_task(task=instance)
                    activity_record(
                        user=template.user, entity_type="task", entity_id=instance.pk, action="updated",
                        source="system", metadata={"due_date": first.isoformat(), "template_id": str(template.pk)},
                    )  # fmt: skip
        else:
            _schedule_from_now(template, rule)
        template.save(update_fields=["rrule", "next_due", "active", "updated_at"])
        activity_record(
            user=template.user, entity_type="template", entity_id=template.pk, action="updated", source="user",
            metadata={"rrule": template.rrule, "scope": scope, "task_id": str(task.pk), "active": template.active},
        )  # fmt: skip
