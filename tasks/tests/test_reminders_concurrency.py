"""Reminder races against real PostgreSQL: the per-task limit and exactly-once firing
with several workers at once (CONTRACT §6, §15). Two real worker processes:
perpetua/tests/test_scale_out.py."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker
from rest_framework.test import APIClient

from notifications.models import Notification
from tasks.models import Reminder, Task
from tasks.services import reminders

pytestmark = pytest.mark.django_db(transaction=True)


def client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user=user)
    return c


def due_reminders(user, count: int) -> list[Reminder]:
    """`count` due reminders, each on its own task (so notifications map back to them)."""
    past = timezone.now() - timedelta(minutes=1)
    tasks = baker.make(Task, user=user, title="due", _quantity=count, _bulk_create=True)
    return Reminder.objects.bulk_create(
        [Reminder(user=user, task=t, type="absolute", scheduled_at=past) for t in tasks]
    )


def assert_each_fired_once(user, rows: list[Reminder]) -> None:
    per_url = Counter(Notification.objects.filter(user=user).values_list("action_url", flat=True))
    assert per_url == {f"/tasks/{r.task_id}": 1 for r in rows}
    assert not Reminder.objects.filter(pk__in=[r.pk for r in rows], fired=False).exists()


def test_concurrent_creates_never_exceed_the_limit(user, concurrently):
    task = baker.make(Task, user=user, due_date=timezone.now() + timedelta(days=2))
    for minutes in (1, 2, 3):
        baker.make(Reminder, user=user, task=task, type="before", offset_minutes=minutes,
                   scheduled_at=task.due_date - timedelta(minutes=minutes))  # fmt: skip
    statuses = concurrently(
        6,
        lambda i: (
            client(user)
            .post(f"/api/v1/tasks/{task.pk}/reminders", {"type": "before", "offset_minutes": 10 + i}, format="json")
            .status_code
        ),
    )
    assert Counter(statuses) == {201: 2, 409: 4}, statuses
    assert Reminder.objects.filter(task=task).count() == 5


def test_concurrent_fire_runs_fire_each_reminder_exactly_once(user, concurrently):
    for _ in range(3):  # a few rounds: the outcome must not depend on timing
        rows = due_reminders(user, 40)
        counts = concurrently(4, lambda i: reminders.reminders_fire_due(batch_size=5))
        assert all(isinstance(c, int) for c in counts), counts
        assert sum(counts) == 40
        assert_each_fired_once(user, rows)
        Notification.objects.all().delete()
        Reminder.objects.all().delete()


def test_one_due_reminder_two_concurrent_runs_one_notification(user, concurrently):
    rows = due_reminders(user, 1)
    counts = concurrently(2, lambda i: reminders.reminders_fire_due())
    assert sorted(counts) == [0, 1]
    assert_each_fired_once(user, rows)
