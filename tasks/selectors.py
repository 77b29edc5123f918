"""Every read of tasks, subtasks and focus sessions, N+1-free (CONTRACT §3, §4, §11).

Ownership is decided in the same step as the fetch: a missing row is 404, a row of
another user is 403 (CONTRACT §0), so no view ever filters by user by hand.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from perpetua.api.errors import Forbidden, NotFound, TaskNotFound, ValidationFailed
from tasks.filters import DEFAULT_ORDERING, PRIORITY_RANK, TaskFilter, order_by_expressions
from tasks.models import FocusSession, Reminder, Subtask, Task


def _subtask_count(*, completed_only: bool) -> Coalesce:
    """Correlated COUNT over the (task, order_index) index.

    A subquery rather than JOIN + GROUP BY: PostgreSQL evaluates it only for the rows
    of the page (after ORDER BY/LIMIT), and `count()` drops it entirely.
    """
    subtasks = Subtask.objects.filter(task_id=OuterRef("pk"))
    if completed_only:
        subtasks = subtasks.filter(completed=True)
    counted = subtasks.order_by().values("task_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@functools.cache
def _annotated_tasks() -> QuerySet[Task]:
    """Built once per process and only ever cloned: resolving the annotations costs more
    than running the query, so requests must not redo it."""
    return Task.objects.annotate(
        subtask_count=_subtask_count(completed_only=False),
        subtask_completed_count=_subtask_count(completed_only=True),
    )


@functools.cache
def _listed_tasks() -> QuerySet[Task]:
    return _annotated_tasks().annotate(priority_rank=PRIORITY_RANK).order_by(*order_by_expressions(DEFAULT_ORDERING))


def task_queryset() -> QuerySet[Task]:
    """Tasks with the annotations every task representation needs (CONTRACT §3)."""
    return _annotated_tasks().all()


def _check_owner(*, user: Any, owner_id: Any) -> None:
    if owner_id != user.pk:
        raise Forbidden()


def task_get_for_user(
    *, user: Any, task_id: uuid.UUID | str, for_update: bool = False, strongest: bool = False
) -> Task:
    """The user's task, or TaskNotFound (404) / Forbidden (403).

    `for_update=True` locks the row `FOR NO KEY UPDATE` (children may still be inserted
    by others' FK checks); `strongest=True` takes `FOR UPDATE` (deletion). Callers are
    inside `transaction.atomic`.
    """
    queryset = Task.objects.all()
    if for_update:
        queryset = queryset.select_for_update(no_key=not strongest)
    task = queryset.filter(pk=task_id).first()
    if task is None:
        raise TaskNotFound()
    _check_owner(user=user, owner_id=task.user_id)
    return task


def task_get_annotated(*, task_id: uuid.UUID | str) -> Task:
    """One task with its subtask counts (the shape of write responses)."""
    return task_queryset().get(pk=task_id)


def task_detail_for_user(*, user: Any, task_id: uuid.UUID | str) -> Task:
    """`GET /tasks/{id}`: the task with its counts, subtasks by order_index and reminders.

    Three queries whatever the number of children.
    """
    task = (
        task_queryset()
        .prefetch_related(
            Prefetch("subtasks", queryset=Subtask.objects.order_by("order_index")),
            Prefetch("reminders", queryset=Reminder.objects.order_by("scheduled_at", "created_at")),
        )
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise TaskNotFound()
    _check_owner(user=user, owner_id=task.user_id)
    return task


def task_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Task]:
    """`GET /tasks`: the user's tasks, filtered and ordered per CONTRACT §3.

    The result is lazy; paginating it costs exactly two queries (count + page),
    whatever the page size. Invalid filter values raise ValidationFailed (400).
    """
    queryset = _listed_tasks().filter(user=user)
    if not filters or filters.keys().isdisjoint(TaskFilter.base_filters):
        return TaskFilter.apply_defaults(queryset)  # no filter asked: skip building the form
    filterset = TaskFilter(data=filters, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationFailed(
            "Invalid query parameters.",
            details=[
                {"field": field, "message": str(message)}
                for field, messages in filterset.errors.items()
                for message in messages
            ],
        )
    return filterset.qs


def task_count_active(*, user: Any) -> int:
    """Tasks that count against the active-task limit: not completed, not archived (§3)."""
    return Task.objects.filter(user=user, completed=False, archived=False).count()


def subtask_list_for_task(*, task: Task) -> list[Subtask]:
    return list(Subtask.objects.filter(task=task).order_by("order_index"))


def subtask_get_for_user(*, user: Any, subtask_id: uuid.UUID | str, for_update: bool = False) -> Subtask:
    """The user's subtask with its parent task loaded, or NotFound (404) / Forbidden (403).

    `for_update=True` first locks the parent task row (found through a subquery), then
    reads the subtask: every subtask writer locks the parent first, so completion of the
    last open subtask and index re-packing are serialized per task, and locks are always
    taken task → subtask (never the reverse, which deadlocks against a re-pack).
    """
    if not for_update:
        subtask = Subtask.objects.select_related("task").filter(pk=subtask_id).first()
        if subtask is None:
            raise NotFound("Subtask not found.")
        _check_owner(user=user, owner_id=subtask.task.user_id)
        return subtask
    parent = Subtask.objects.filter(pk=subtask_id).values("task_id")
    task = Task.objects.select_for_update(no_key=True).filter(pk=Subquery(parent)).first()
    if task is None:
        raise NotFound("Subtask not found.")
    _check_owner(user=user, owner_id=task.user_id)
    subtask = Subtask.objects.filter(pk=subtask_id).first()
    if subtask is None:  # deleted while we waited for the lock
        raise NotFound("Subtask not found.")
    subtask.task = task
    return subtask


def subtask_ids_owned_by_others(*, user: Any, subtask_ids: list[uuid.UUID]) -> bool:
    """Whether any of these ids is a subtask of another user's task (→ 403 in reorder)."""
    if not subtask_ids:
        return False
    return Subtask.objects.filter(pk__in=subtask_ids).filter(~Q(task__user=user)).exists()


def focus_session_get_for_user(*, user: Any, session_id: uuid.UUID | str) -> FocusSession:
    """The user's focus session, or NotFound (404) / Forbidden (403)."""
    session = FocusSession.objects.filter(pk=session_id).first()
    if session is None:
        raise NotFound("Focus session not found.")
    _check_owner(user=user, owner_id=session.user_id)
    return session


def focus_session_active(*, user: Any) -> FocusSession | None:
    """The user's open focus session, if any (at most one: DB constraint)."""
    return FocusSession.objects.filter(user=user, ended_at__isnull=True).first()
