"""DELETE a task → tombstone → recover: the task comes back exactly as it was (CONTRACT §3, §14)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from notifications.models import Notification
from recovery.models import ActivityEntry, Tombstone
from recovery.services import tombstone_recover
from tasks.models import Reminder, Subtask, Task
from tasks.services import snapshots as task_services

pytestmark = pytest.mark.django_db


def _rows(model, **filters):
    """Every concrete column of the matching rows, keyed by id."""
    names = [f.attname for f in model._meta.concrete_fields]
    return {row["id"]: row for row in model.objects.filter(**filters).values(*names)}


def make_task(user, *, completed=False, reminder_at=None):
    past = timezone.now() - timedelta(days=2)
    task = baker.make(
        Task,
        user=user,
        title="Write the report",
        description="with charts",
        priority="high",
        due_date=timezone.now() + timedelta(days=3),
        estimated_duration=45,
        focus_time_seconds=120,
        completed=completed,
        completed_at=past if completed else None,
        completed_by="manual" if completed else None,
        completion_counted=completed,
        version=4,
    )
    for index in range(3):
        baker.make(Subtask, task=task, title=f"step {index}", order_index=index, completed=index == 0)
    baker.make(
        Reminder,
        user=user,
        task=task,
        type="absolute",
        scheduled_at=reminder_at or timezone.now() + timedelta(days=1),
        method="push",
    )
    baker.make(Reminder, user=user, task=task, type="before", offset_minutes=15, scheduled_at=task.due_date)
    # Distinct, old timestamps: recovery must bring these back, not "now".
    Task.objects.filter(pk=task.pk).update(created_at=past, updated_at=past + timedelta(hours=1))
    Subtask.objects.filter(task=task).update(created_at=past, updated_at=past + timedelta(minutes=5))
    Reminder.objects.filter(task=task).update(created_at=past, updated_at=past + timedelta(minutes=7))
    task.refresh_from_db()
    return task


def snapshot(task):
    return _rows(Task, pk=task.pk), _rows(Subtask, task_id=task.pk), _rows(Reminder, task_id=task.pk)


@pytest.mark.parametrize("completed", [False, True])
def test_delete_then_recover_restores_every_field(user, completed):
    task = make_task(user, completed=completed)
    before = snapshot(task)
    tombstone = task_services.task_delete(user=user, task_id=task.pk)
    assert not Task.objects.filter(pk=task.pk).exists()
    assert not Subtask.objects.filter(task_id=task.pk).exists()
    assert Tombstone.objects.filter(pk=tombstone.pk, entity_id=task.pk).exists()

    entity_type, restored = tombstone_recover(user=user, tombstone_id=tombstone.pk)

    assert entity_type == "task"
    assert restored.pk == task.pk
    assert snapshot(task) == before
    assert not Tombstone.objects.filter(pk=tombstone.pk).exists()
    assert ActivityEntry.objects.filter(user=user, entity_id=task.pk, action="recovered").count() == 1


def test_recovered_completed_task_is_not_counted_as_a_completion(user, monkeypatch):
    task = make_task(user, completed=True)
    tombstone = task_services.task_delete(user=user, task_id=task.pk)
    calls = []
    monkeypatch.setattr("gamification.services.progress_record_completion", lambda **kwargs: calls.append(kwargs))
    tombstone_recover(user=user, tombstone_id=tombstone.pk)
    assert calls == []


def test_recover_when_the_id_is_taken_is_409(user):
    task = make_task(user)
    tombstone = task_services.task_delete(user=user, task_id=task.pk)
    baker.make(Task, id=task.pk, user=user, title="squatter")
    from perpetua.api.exceptions import Conflict

    with pytest.raises(Conflict):
        tombstone_recover(user=user, tombstone_id=tombstone.pk)
    assert Tombstone.objects.filter(pk=tombstone.pk).exists()


def test_reminder_due_while_deleted_does_not_fire_after_recovery(user):
    task = make_task(user, reminder_at=timezone.now() + timedelta(seconds=2))
    tombstone = task_services.task_delete(user=user, task_id=task.pk)
    # The reminder's time passes while the task sits in the tombstone.
    payload = tombstone.payload
    for row in payload["reminders"]:
        if row["type"] == "absolute":
            row["scheduled_at"] = (timezone.now() - timedelta(minutes=5)).isoformat()
    Tombstone.objects.filter(pk=tombstone.pk).update(payload=payload)

    tombstone_recover(user=user, tombstone_id=tombstone.pk)

    from tasks.services.reminders import reminders_fire_due

    assert reminders_fire_due() == 0
    assert not Notification.objects.filter(user=user, type="reminder").exists()
    overdue = Reminder.objects.get(task_id=task.pk, type="absolute")
    assert overdue.fired is True and overdue.fired_at is None  # settled, never fired late
    upcoming = Reminder.objects.get(task_id=task.pk, type="before")
    assert upcoming.fired is False  # still in the future: it fires normally when due
    assert reminders_fire_due(now=upcoming.scheduled_at + timedelta(seconds=1)) == 1
    assert Notification.objects.filter(user=user, type="reminder", action_url=f"/tasks/{task.pk}").count() == 1


def _detail(user, task):
    from tasks.selectors.tasks import task_detail_for_user
    from tasks.serializers.tasks import TaskDetailSerializer

    return TaskDetailSerializer(task_detail_for_user(user=user, task_id=task.pk)).data


@pytest.mark.parametrize("path", ["/api/v1/tombstones/{id}/recover", "/api/v1/tasks/recover/{id}"])
def test_recover_endpoint_returns_the_task_detail_as_it_was(api, user, path):
    task = make_task(user)
    before = _detail(user, task)
    assert len(before["subtasks"]) == 3 and len(before["reminders"]) == 2
    tombstone = task_services.task_delete(user=user, task_id=task.pk)
    listed = api.get("/api/v1/tombstones").json()["data"]
    assert [(row["id"], row["entity_id"], row["title"]) for row in listed] == [
        (str(tombstone.pk), str(task.pk), "Write the report")
    ]

    response = api.post(path.format(id=tombstone.pk))

    assert response.status_code == 200
    assert response.json() == {"data": before}
    assert api.get("/api/v1/tombstones").json()["data"] == []
    assert api.post(path.format(id=tombstone.pk)).status_code == 404
    recovered = api.get(f"/api/v1/activity?entity_id={task.pk}&entity_type=task").json()["data"]
    assert [row["action"] for row in recovered][:2] == ["recovered", "deleted"]


def test_recover_endpoint_id_taken_is_409(api, user):
    task = make_task(user)
    tombstone = task_services.task_delete(user=user, task_id=task.pk)
    baker.make(Task, id=task.pk, user=user, title="squatter")
    response = api.post(f"/api/v1/tasks/recover/{tombstone.pk}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert Task.objects.get(pk=task.pk).title == "squatter"
    assert Tombstone.objects.filter(pk=tombstone.pk).exists()


def test_fourth_task_deletion_drops_the_oldest_tombstone(api, user):
    tasks = [make_task(user) for _ in range(4)]
    tombstones = [task_services.task_delete(user=user, task_id=t.pk) for t in tasks]
    listed = [row["id"] for row in api.get("/api/v1/tombstones").json()["data"]]
    assert listed == [str(t.pk) for t in reversed(tombstones[1:])]
    assert api.post(f"/api/v1/tombstones/{tombstones[0].pk}/recover").status_code == 404
