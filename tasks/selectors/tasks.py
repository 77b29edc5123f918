"""Every read of tasks, N+1-free (CONTRACT §3).

Ownership is decided in the same step as the fetch: a missing row is 404, a row of
another user is 403 (CONTRACT §0), so no view ever filters by user by hand.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from perpetua.api.exceptions import Forbidden, TaskNotFound
from perpetua.api.filters import filterset_apply
from perpetua.api.pagination import paginate
from tasks.filters import DEFAULT_ORDERING, PRIORITY_RANK, TaskFilter, order_by_expressions
from tasks.models import Reminder, Subtask, Task
from tasks.selectors import sql


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


def owner_check(*, user: Any, owner_id: Any) -> None:
    """Another user's row is 403 (CONTRACT §0); every getter of the app calls this."""
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
    try:
        # get(), not first(): first() would add the model's ordering to a pk lookup.
        task = queryset.get(pk=task_id)
    except Task.DoesNotExist:
        raise TaskNotFound() from None
    owner_check(user=user, owner_id=task.user_id)
    return task


def task_get_annotated(*, task_id: uuid.UUID | str) -> Task:
    """One task with its subtask counts (the shape of write responses)."""
    return task_queryset().get(pk=task_id)


def task_detail_for_user(*, user: Any, task_id: uuid.UUID | str) -> dict[str, Any]:
    """`GET /tasks/{id}`: the task's row with its counts, subtasks by order_index and
    reminders (`tasks.selectors.sql.task_detail`), one query whatever the number of children."""
    task = sql.task_detail(task_id=task_id) if _fixed_sql() else _task_detail_orm(task_id=task_id)
    if task is None:
        raise TaskNotFound()
    owner_check(user=user, owner_id=task["user_id"])
    return task


def _fixed_sql() -> bool:
    """`tasks.selectors.sql` is PostgreSQL's (json_agg, native uuid and timestamptz); the
    embedded SQLite default of `make run` takes the ORM twins."""
    return connection.vendor == "postgresql"


def _task_detail_orm(*, task_id: uuid.UUID | str) -> dict[str, Any] | None:
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
        return None
    subtasks = [{**vars(subtask), "user_id": task.user_id} for subtask in task.subtasks.all()]
    return {**vars(task), "subtasks": subtasks, "reminders": [vars(reminder) for reminder in task.reminders.all()]}


def task_get_with_counts_for_user(*, user: Any, task_id: uuid.UUID | str, for_update: bool = False) -> Task:
    """`task_get_for_user` plus the subtask counts of the task representation, in the same
    statement (a write's response then needs no re-read).

    The counts are those of the statement's snapshot: a subtask written by a concurrent
    request that commits later shows in the next read, not in this response.
    """
    if _fixed_sql():
        task = sql.task_with_counts(task_id=task_id, lock="FOR NO KEY UPDATE OF t" if for_update else "")
    else:
        task = task_queryset().filter(pk=task_id).first()
    if task is None:
        raise TaskNotFound()
    owner_check(user=user, owner_id=task.user_id)
    return task


def task_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Task]:
    """`GET /tasks`: the user's tasks, filtered and ordered per CONTRACT §3.

    The result is lazy; paginating it costs exactly two queries (count + page),
    whatever the page size. Invalid filter values raise ValidationFailed (400).
    """
    queryset = _listed_tasks().filter(user=user)
    if _fixed_sql() and (not filters or filters.keys().isdisjoint(TaskFilter.base_filters)):
        return TaskFilter.apply_defaults(queryset)  # no filter asked: skip building the form
    return filterset_apply(TaskFilter, data=filters, queryset=queryset).qs


def task_page(*, user: Any, filters: Mapping[str, Any] | None, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of `GET /tasks` and the total: without filters from the statement of
    `tasks.selectors.sql` (row dicts), with filters from `task_list` (model instances);
    both in one query."""
    if _fixed_sql() and (not filters or filters.keys().isdisjoint(TaskFilter.base_filters)):
        return sql.task_page(user_id=user.pk, offset=offset, limit=limit)
    return paginate(task_list(user=user, filters=filters), offset=offset, limit=limit)


def task_count_active(*, user: Any) -> int:
    """Tasks that count against the active-task limit: not completed, not archived (§3)."""
    if _fixed_sql():
        return sql.task_count_active(user_id=user.pk)
    return Task.objects.filter(user=user, completed=False, archived=False).count()
