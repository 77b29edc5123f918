"""Reads of subtasks (CONTRACT §4): always through their parent task's owner."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, Subquery

from perpetua.api.exceptions import NotFound
from tasks.models import Subtask, Task
from tasks.selectors.tasks import owner_check, task_get_for_user


def subtask_list_for_task(*, task: Task) -> list[Subtask]:
    """The task's subtasks by `order_index`, each with `task` set to this one (the
    related manager does that), so rendering them costs no query per row."""
    return list(task.subtasks.order_by("order_index"))


def subtask_list_for_user(*, user: Any, task_id: uuid.UUID | str) -> list[Subtask]:
    """`GET /tasks/{task_id}/subtasks` (CONTRACT §4): two queries whatever the count;
    another user's task is 403, a missing one 404 TASK_NOT_FOUND."""
    return subtask_list_for_task(task=task_get_for_user(user=user, task_id=task_id))


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
        owner_check(user=user, owner_id=subtask.task.user_id)
        return subtask
    parent = Subtask.objects.filter(pk=subtask_id).values("task_id")
    task = Task.objects.select_for_update(no_key=True).filter(pk=Subquery(parent)).first()
    if task is None:
        raise NotFound("Subtask not found.")
    owner_check(user=user, owner_id=task.user_id)
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
