"""The task field rules shared by every writer of task-shaped rows (CONTRACT §3, §5).

Tasks, recurring templates and their generated instances are checked by these same
functions, so a title, a description, a priority, a duration, a due date or the
active-task limit means the same thing wherever it is written. Services import this
module; it imports no service of the tasks app.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.services import user_lock
from gamification import selectors as gamification_selectors
from gamification.selectors import EffectiveLimits
from perpetua.api.exceptions import Archived, LimitExceeded, field_error
from tasks.models import Priority
from tasks.selectors.tasks import task_count_active

TITLE_MAX_LENGTH = 200
ESTIMATED_DURATION_RANGE = (1, 720)
# How a recurrence edit from an instance applies (CONTRACT §5): the template only, or
# the template and every open instance not yet due.
SCOPES = ("future", "template")


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


def clean_due_date(due_date: Any, *, created_at: dt.datetime) -> dt.datetime | None:
    """Due date at most MAX_TASK_DUE_DAYS after the task's creation (CONTRACT §3) and at
    most MAX_TASK_DUE_PAST_DAYS before it: an overdue task is fine, one due in year 1 is
    a client bug."""
    if due_date is None:
        return None
    if not isinstance(due_date, dt.datetime) or timezone.is_naive(due_date):
        raise field_error("due_date", "Must be an ISO-8601 datetime with a timezone.")
    ahead, past = settings.MAX_TASK_DUE_DAYS, settings.MAX_TASK_DUE_PAST_DAYS
    if not created_at - dt.timedelta(days=past) <= due_date <= created_at + dt.timedelta(days=ahead):
        raise field_error(
            "due_date", f"Must be at most {ahead} days after the task's creation and {past} days before it."
        )
    return due_date


def clean_scope(scope: Any) -> str:
    if scope not in SCOPES:
        raise field_error("scope", f"Must be one of {', '.join(SCOPES)}.")
    return scope


def check_active_task_room(*, user: Any, limits: EffectiveLimits | None = None) -> None:
    """Active tasks (not completed, not archived) < tier base + perks, else 409 (§3).

    Locks the owner's user row first, so concurrent activations count one at a time.
    """
    user_lock(user_id=user.pk)
    limit = (limits or gamification_selectors.limits_for_user(user=user)).max_tasks
    if task_count_active(user=user) >= limit:
        raise LimitExceeded(f"You can have at most {limit} active tasks on your plan.", limit=limit)


def ensure_not_archived(task: Any) -> None:
    """Writes under an archived task (subtasks, focus) are 409 ARCHIVED (CONTRACT §3)."""
    if task.archived:
        raise Archived()
