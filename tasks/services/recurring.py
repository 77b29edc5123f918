"""Every write of recurring templates (CONTRACT §5): CRUD, instance generation, recurrence edits.

A template is an RFC 5545 RRULE anchored at `dtstart` (parsed by `tasks.rrule`); its
instances are ordinary `Task` rows with `template_id` set. Reads live in
`tasks.selectors.recurring`.

Rules enforced here (decisions written down in the README):

* RRULE rules and occurrences: see `tasks.rrule`.
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

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from gamification.selectors import limits_for_user
from perpetua.api.exceptions import Conflict, Forbidden, field_error, unknown_fields_error
from perpetua.jobs import enqueue, job, retry_delay_seconds
from recovery.services import activity_record
from tasks import rules
from tasks.models import Priority, Task, TaskTemplate
from tasks.rrule import (
    BoundedRRule,
    dtstart_clean,
    occurrence_after,
    rrule_build,
    rrule_error,
    rrule_normalize,
    template_rule_validate,
    user_tz,
)
from tasks.selectors.recurring import template_get_for_user, template_open_instances
from tasks.services import reminders as reminder_services

logger = logging.getLogger(__name__)

TEMPLATE_WRITABLE_FIELDS = ("title", "description", "priority", "estimated_duration", "rrule", "dtstart", "active")


def _template_rule(template: TaskTemplate) -> BoundedRRule:
    return rrule_build(rrule=template.rrule, dtstart=template.dtstart, tz=user_tz(template.user))


# --- template CRUD ------------------------------------------------------------------------------


def _clean_fields(*, user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Title, description, priority and duration follow the task rules (CONTRACT §3),
    checked by the same functions as POST /tasks."""
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = rules.clean_title(data["title"])
    if "description" in data:
        cleaned["description"] = rules.clean_description(data["description"], limits=limits_for_user(user=user))
    if "priority" in data:
        cleaned["priority"] = rules.clean_priority(data["priority"])
    if "estimated_duration" in data:
        cleaned["estimated_duration"] = rules.clean_estimated_duration(data["estimated_duration"])
    return cleaned


def _schedule_from_now(template: TaskTemplate, rule: BoundedRRule, *, after_open_instance: bool = True) -> None:
    """next_due = first occurrence after now, or after the open instance's due date when
    that is later; none → deactivated (CONTRACT §5)."""
    base = timezone.now()
    if after_open_instance:
        open_due = (
            template_open_instances(template_id=template.pk)
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
    anchor = dtstart_clean(dtstart) if dtstart is not None else timezone.now().replace(microsecond=0)
    rule = template_rule_validate(rrule=rrule, dtstart=anchor, tz=user_tz(user))
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
            changes["dtstart"] = dtstart_clean(data["dtstart"])
        if "rrule" in data:
            changes["rrule"] = rrule_normalize(data["rrule"]) if isinstance(data["rrule"], str) else data["rrule"]
        for name, value in changes.items():
            setattr(template, name, value)
        # Paused (inactive with a next_due) stays paused on a rule edit; an exhausted
        # template (inactive, no next_due) comes back when its new rule has occurrences.
        paused = not template.active and template.next_due is not None
        if "rrule" in changes or "dtstart" in changes or data.get("active") is True:
            if "rrule" in changes or "dtstart" in changes:  # 400 on a bad rule or anchor
                rule = template_rule_validate(rrule=template.rrule, dtstart=template.dtstart, tz=user_tz(template.user))
            else:
                rule = _template_rule(template)
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
    rules.check_active_task_room(user=user)
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


def _advance(
    template: TaskTemplate, rule: BoundedRRule, *, generated_due: dt.datetime, task: Task, source: str
) -> None:
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
        if template_open_instances(template_id=template.pk).exists():
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
    if template_open_instances(template_id=template.pk).exclude(pk=exclude_task_id).exists():
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
        raise rrule_error("This task is not an instance of a recurring template.")
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
    rules.clean_scope(scope)
    if task.template_id is None:
        raise rrule_error("This task is not an instance of a recurring template.")
    now = timezone.now()
    with transaction.atomic():
        moved: list[Task] = []
        if scope == "future":
            # task(s) → template: lock the instances to move before the template.
            moved = list(
                template_open_instances(template_id=task.template_id)
                .filter(Q(due_date__gte=now) | Q(due_date__isnull=True))
                .select_for_update(no_key=True)
                .order_by("pk")
            )
        template = TaskTemplate.objects.select_for_update(no_key=True).select_related("user").get(pk=task.template_id)
        if template.user_id != task.user_id:  # cannot happen through the API; never cross users
            raise Forbidden()
        # 400 on a bad rule; the template's anchor stays as it is, however old.
        rule = template_rule_validate(
            rrule=rrule, dtstart=template.dtstart, tz=user_tz(template.user), anchor_bounds=False
        )
        template.rrule = rrule_normalize(rrule)
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
                        reminder_services.reminders_recompute_for_task(task=task)
                        continue
                    Task.objects.filter(pk=instance.pk).update(due_date=first, version=F("version") + 1, updated_at=now)
                    instance.due_date = first
                    reminder_services.reminders_recompute_for_task(task=instance)
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
