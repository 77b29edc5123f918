"""Reads of reminders (CONTRACT §6)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from perpetua.api.exceptions import Forbidden, NotFound
from perpetua.api.filters import filterset_apply
from tasks.filters import ReminderFilter
from tasks.models import Reminder
from tasks.selectors.tasks import task_get_for_user


def reminder_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Reminder]:
    """`GET /reminders?task_id=&fired=`: the user's reminders by `scheduled_at`; a
    `task_id` of another user is 403, an unknown one 404 TASK_NOT_FOUND."""
    filterset = filterset_apply(ReminderFilter, data=filters, queryset=Reminder.objects.filter(user=user))
    task_id = filterset.form.cleaned_data.get("task_id")
    if task_id is not None:
        task_get_for_user(user=user, task_id=task_id)
    return filterset.qs.order_by("scheduled_at", "created_at", "id")


def reminder_get_for_user(*, user: Any, reminder_id: uuid.UUID | str) -> Reminder:
    """The user's reminder, or NotFound (404) / Forbidden (403) (CONTRACT §0)."""
    reminder = Reminder.objects.filter(pk=reminder_id).first()
    if reminder is None:
        raise NotFound("Reminder not found.")
    if reminder.user_id != user.pk:
        raise Forbidden()
    return reminder
