"""Every write of subtasks (CONTRACT §4).

The subtask count limit and gapless indices are guarded by locking the parent task row
for every subtask create/delete/reorder/update (lock order task → subtask). Completing
the last open subtask auto-completes the parent through the task services.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from gamification import selectors as gamification_selectors
from gamification.services import CompletionProgress
from perpetua.api.exceptions import Forbidden, LimitExceeded, ValidationFailed, unknown_fields_error
from recovery import services as recovery_services
from tasks import rules
from tasks.models import CompletedBy, Source, Subtask
from tasks.selectors import subtasks as subtask_selectors
from tasks.selectors import tasks as task_selectors
from tasks.services import tasks as task_services


@dataclass
class SubtaskWriteResult:
    subtask: Subtask
    task_completed: bool = False
    progress: CompletionProgress = field(default_factory=CompletionProgress)


def subtask_create(
    *, user: Any, task_id: uuid.UUID | str, title: str, order_index: int | None = None, source: str = "user"
) -> Subtask:
    """POST /tasks/{task_id}/subtasks (CONTRACT §4): appended at the next index, or
    inserted at `order_index` (clamped to 0..n, the subtasks from there on move down by
    one); at most the tier's max_subtasks per task. The parent row is locked, so
    concurrent creates can neither exceed the limit nor share an index, and indices
    stay 0..n-1."""
    title = rules.clean_title(title)
    if source not in Source.values:
        raise ValueError(f"unknown subtask source {source!r}")
    with transaction.atomic():
        task = task_selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        rules.ensure_not_archived(task)
        limit = gamification_selectors.limits_for_user(user=user).max_subtasks
        count = Subtask.objects.filter(task_id=task.pk).count()
        if count >= limit:
            raise LimitExceeded(f"A task can have at most {limit} subtasks on your plan.", limit=limit)
        index = count if order_index is None else min(max(order_index, 0), count)
        if index < count:  # the (task, order_index) unique constraint is checked at commit
            Subtask.objects.filter(task_id=task.pk, order_index__gte=index).update(
                order_index=F("order_index") + 1, updated_at=timezone.now()
            )
        subtask = Subtask.objects.create(task=task, title=title, order_index=index, source=source)
        recovery_services.activity_record(
            user=user, entity_type="subtask", entity_id=subtask.pk, action="created", source=source,
            metadata={"task_id": str(task.pk), "title": title},
        )  # fmt: skip
    return subtask


def subtask_create_many(
    *, user: Any, task_id: uuid.UUID | str, titles: list[str], source: str = "user"
) -> list[Subtask]:
    """Several subtasks at once (AI confirm-action `create_subtasks`), all or nothing,
    under the same limit as `subtask_create`; a list longer than the limit is refused
    before any title is checked."""
    limit = gamification_selectors.limits_for_user(user=user).max_subtasks
    if len(titles) > limit:
        raise LimitExceeded(f"A task can have at most {limit} subtasks on your plan.", limit=limit)
    cleaned = [rules.clean_title(title, field_name=f"subtasks[{i}].title") for i, title in enumerate(titles)]
    with transaction.atomic():
        task = task_selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        rules.ensure_not_archived(task)
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
        subtask = subtask_selectors.subtask_get_for_user(user=user, subtask_id=subtask_id, for_update=True)
        task = subtask.task
        rules.ensure_not_archived(task)
        now = timezone.now()
        update_fields = ["updated_at"]
        if "title" in data:
            subtask.title = rules.clean_title(data["title"])
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
                task_services.task_versioned_update(
                    task=task,
                    version=task.version,
                    changes={
                        "completed": True,
                        "completed_at": now,
                        "completed_by": CompletedBy.AUTO,
                        "completion_counted": True,
                    },
                )
                task = task_selectors.task_get_annotated(task_id=task.pk)
                subtask.task = task
                task_completed = True
                progress = task_services.task_after_completion(user=user, task=task, counted_before=counted_before)
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
        subtask = subtask_selectors.subtask_get_for_user(user=user, subtask_id=subtask_id, for_update=True)
        rules.ensure_not_archived(subtask.task)
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
        task = task_selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        rules.ensure_not_archived(task)
        current = set(Subtask.objects.filter(task_id=task.pk).values_list("pk", flat=True))
        wanted = list(subtask_ids)
        foreign = [pk for pk in wanted if pk not in current]
        if foreign and subtask_selectors.subtask_ids_owned_by_others(user=user, subtask_ids=foreign):
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
        return subtask_selectors.subtask_list_for_task(task=task)
