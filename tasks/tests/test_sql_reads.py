"""The SQL reads of `tasks.selectors.sql` answer exactly what their ORM twins answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from model_bakery import baker

from perpetua.api.pagination import paginate
from tasks.models import Reminder, Subtask, Task
from tasks.selectors import tasks as task_selectors
from tasks.serializers.reminders import ReminderSerializer, reminder_data
from tasks.serializers.subtasks import SubtaskSerializer, subtask_data
from tasks.serializers.tasks import TaskSerializer

pytestmark = pytest.mark.django_db

_task = TaskSerializer()
# Microseconds that a millisecond format must truncate, and ones that JSON prints shortened (.12).
_AWKWARD = dt.datetime(2026, 3, 4, 5, 6, 7, 999999, tzinfo=dt.UTC)
_SHORT = dt.datetime(2026, 3, 4, 5, 6, 7, 120000, tzinfo=dt.UTC)


@pytest.fixture
def tasks(user, make_task, other_user):
    now = timezone.now()
    rows = [
        make_task(title=f"t{i}", priority=p, due_date=now + dt.timedelta(days=i) if i % 2 else None)
        for i, p in enumerate(["low", "high", "medium", "high", "low"])
    ]
    make_task(title="hidden", hidden=True)
    make_task(owner=other_user, title="foreign")
    Task.objects.filter(pk=rows[1].pk).update(created_at=rows[0].created_at)  # a tie: id decides
    baker.make(Subtask, task=rows[2], order_index=0, completed=True, completed_at=_AWKWARD)
    baker.make(Subtask, task=rows[2], order_index=1)
    return rows


@pytest.mark.parametrize(("offset", "limit"), [(0, 25), (0, 2), (2, 2), (4, 3), (9, 5)])
def test_unfiltered_page_is_the_orm_page(user, tasks, offset, limit):
    rows, total = task_selectors.task_page(user=user, filters={}, offset=offset, limit=limit)
    orm_rows, orm_total = paginate(task_selectors.task_list(user=user, filters={}), offset=offset, limit=limit)
    assert total == orm_total == 5
    assert [_task.to_representation(r) for r in rows] == [_task.to_representation(t) for t in orm_rows]


def test_detail_row_renders_as_the_models_do(user, tasks):
    task = tasks[2]
    Subtask.objects.filter(task=task, order_index=1).update(created_at=_SHORT, updated_at=_SHORT)
    for scheduled in (_SHORT, _AWKWARD):
        baker.make(Reminder, user=user, task=task, type="absolute", scheduled_at=scheduled, fired_at=None)

    data = task_selectors.task_detail_for_user(user=user, task_id=task.pk)

    subtasks = Subtask.objects.filter(task=task).select_related("task").order_by("order_index")
    reminders = Reminder.objects.filter(task=task).order_by("scheduled_at", "created_at")
    assert [subtask_data(s) for s in data["subtasks"]] == [SubtaskSerializer().to_representation(s) for s in subtasks]
    assert data["subtasks"][0]["completed_at"] == _AWKWARD
    assert [reminder_data(r) for r in data["reminders"]] == [
        ReminderSerializer().to_representation(r) for r in reminders
    ]
    assert (data["subtask_count"], data["subtask_completed_count"]) == (2, 1)
    annotated = task_selectors.task_get_annotated(task_id=task.pk)
    assert _task.to_representation(data) == _task.to_representation(annotated)


def test_patch_answers_the_row_as_written_with_its_counts(api, user, tasks):
    task = tasks[2]
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"version": 1, "title": "Renamed"}, format="json")
    assert response.status_code == 200
    fresh = _task.to_representation(task_selectors.task_get_annotated(task_id=task.pk))
    assert response.json()["data"] == fresh
    assert (fresh["version"], fresh["subtask_count"], fresh["subtask_completed_count"]) == (2, 2, 1)
