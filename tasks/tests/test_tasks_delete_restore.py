"""DELETE /tasks/{id} into a tombstone, and `task_restore` back (CONTRACT §3, §14)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import models
from django.utils import timezone
from model_bakery import baker

from perpetua.api.exceptions import Conflict, Forbidden, LimitExceeded
from recovery.models import ActivityEntry, Tombstone
from tasks.models import FocusSession, Reminder, Subtask, Task
from tasks.services.snapshots import task_restore, task_snapshot

pytestmark = pytest.mark.django_db


def concrete(instance: models.Model) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def full_task(user, make_task):
    """A task with every field set, three subtasks and reminders past and future, all with old timestamps."""
    template = baker.make("tasks.TaskTemplate", user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    long_ago = timezone.now() - timedelta(days=5, microseconds=123457)
    task = make_task(
        template=template,
        title="Tax return",
        description="Receipts in the blue folder",
        priority="high",
        due_date=timezone.now() + timedelta(days=2),
        estimated_duration=90,
        focus_time_seconds=1234,
        hidden=True,
        version=7,
    )
    for i in range(3):
        baker.make(Subtask, task=task, order_index=i, title=f"step {i}", completed=i == 0, source="ai" if i else "user")
    Subtask.objects.filter(task=task, order_index=0).update(completed_at=long_ago)
    past = baker.make(
        Reminder, user=user, task=task, type="absolute", scheduled_at=timezone.now() + timedelta(minutes=1)
    )
    future = baker.make(
        Reminder,
        user=user,
        task=task,
        type="before",
        offset_minutes=-30,
        method="push",
        scheduled_at=timezone.now() + timedelta(days=1),
    )
    fired = baker.make(
        Reminder,
        user=user,
        task=task,
        type="absolute",
        scheduled_at=timezone.now() - timedelta(days=1),
        fired=True,
        fired_at=timezone.now() - timedelta(days=1),
    )
    Task.objects.filter(pk=task.pk).update(created_at=long_ago, updated_at=long_ago + timedelta(hours=1))
    Subtask.objects.filter(task=task).update(created_at=long_ago, updated_at=long_ago + timedelta(minutes=3))
    Reminder.objects.filter(task=task).update(created_at=long_ago, updated_at=long_ago + timedelta(minutes=4))
    task.refresh_from_db()
    task.past_reminder, task.future_reminder, task.fired_reminder = past, future, fired
    return task


def test_delete_returns_tombstone_and_hard_deletes(api, user, full_task):
    baker.make(FocusSession, user=user, task=full_task, started_at=timezone.now())
    response = api.delete(f"/api/v1/tasks/{full_task.pk}")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"id", "tombstone_id", "recoverable_until"} and data["id"] == str(full_task.pk)
    assert data["recoverable_until"].endswith("Z")
    tombstone = Tombstone.objects.get(pk=data["tombstone_id"])
    assert tombstone.entity_type == "task" and tombstone.entity_id == full_task.pk and tombstone.user == user
    assert not Task.objects.filter(pk=full_task.pk).exists()
    assert not Subtask.objects.filter(task_id=full_task.pk).exists()
    assert not Reminder.objects.filter(task_id=full_task.pk).exists()
    assert not FocusSession.objects.filter(task_id=full_task.pk).exists()
    assert ActivityEntry.objects.filter(entity_id=full_task.pk, action="deleted").exists()


def test_tombstone_payload_holds_every_concrete_field(api, full_task):
    expected_task = concrete(full_task)
    expected_subtasks = [concrete(s) for s in full_task.subtasks.order_by("order_index")]
    data = api.delete(f"/api/v1/tasks/{full_task.pk}").json()["data"]
    payload = Tombstone.objects.get(pk=data["tombstone_id"]).payload
    assert payload["format"] == 1
    assert set(payload["task"]) == set(expected_task)
    assert payload["task"]["id"] == str(full_task.pk)
    assert payload["task"]["version"] == 7 and payload["task"]["focus_time_seconds"] == 1234
    assert payload["task"]["created_at"] == expected_task["created_at"].isoformat()
    assert [s["id"] for s in payload["subtasks"]] == [str(s["id"]) for s in expected_subtasks]
    assert len(payload["reminders"]) == 3
    assert set(payload["reminders"][0]) == {f.attname for f in Reminder._meta.concrete_fields}


def test_delete_errors(api, task, make_task, other_user):
    assert api.delete(f"/api/v1/tasks/{uuid.uuid4()}").json()["error"]["code"] == "TASK_NOT_FOUND"
    assert api.delete(f"/api/v1/tasks/{task.pk}?version=5").json()["error"]["code"] == "CONFLICT"
    assert api.delete(f"/api/v1/tasks/{task.pk}?version=abc").status_code == 400
    foreign = make_task(owner=other_user)
    assert api.delete(f"/api/v1/tasks/{foreign.pk}").status_code == 403
    assert Task.objects.filter(pk__in=[task.pk, foreign.pk]).count() == 2
    assert api.delete(f"/api/v1/tasks/{task.pk}?version=1").status_code == 200


def test_restore_round_trip_keeps_every_field(user, full_task, progress_calls, monkeypatch):
    """task_restore(payload) brings back task, subtasks and reminders field for field."""
    # The past reminder's time passes while the task is deleted.
    Reminder.objects.filter(pk=full_task.past_reminder.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    before_task = concrete(Task.objects.get(pk=full_task.pk))
    before_subtasks = [concrete(s) for s in Subtask.objects.filter(task=full_task).order_by("order_index")]
    before_reminders = {r.pk: concrete(r) for r in Reminder.objects.filter(task=full_task)}
    payload = task_snapshot(task=Task.objects.get(pk=full_task.pk))
    Task.objects.filter(pk=full_task.pk).delete()

    restored = task_restore(user=user, payload=payload)

    assert restored.pk == full_task.pk
    assert concrete(Task.objects.get(pk=full_task.pk)) == before_task
    assert [concrete(s) for s in Subtask.objects.filter(task=full_task).order_by("order_index")] == before_subtasks
    after_reminders = {r.pk: concrete(r) for r in Reminder.objects.filter(task=full_task)}
    # The reminder whose time passed while deleted is marked fired without a fired_at: it never fires late.
    skipped = before_reminders[full_task.past_reminder.pk] | {"fired": True, "fired_at": None}
    assert after_reminders[full_task.past_reminder.pk] == skipped
    assert after_reminders[full_task.future_reminder.pk] == before_reminders[full_task.future_reminder.pk]
    assert after_reminders[full_task.fired_reminder.pk] == before_reminders[full_task.fired_reminder.pk]
    assert progress_calls == []  # recovery is never a completion


def test_restore_of_a_completed_task_is_not_a_completion(user, make_task, progress_calls):
    task = make_task(completed=True, completed_at=timezone.now(), completed_by="manual", completion_counted=True)
    payload = task_snapshot(task=task)
    task.delete()
    restored = task_restore(user=user, payload=payload)
    assert restored.completed and restored.completion_counted
    assert progress_calls == []


def test_restore_conflicts_and_ownership(user, other_user, task):
    payload = task_snapshot(task=task)
    with pytest.raises(Conflict):
        task_restore(user=user, payload=payload)  # the id is still taken
    with pytest.raises(Forbidden):
        task_restore(user=other_user, payload=payload)


def test_restore_drops_a_template_deleted_meanwhile(user, make_task):
    template = baker.make("tasks.TaskTemplate", user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    task = make_task(template=template)
    payload = task_snapshot(task=task)
    task.delete()
    template.delete()
    assert task_restore(user=user, payload=payload).template_id is None


def test_restore_respects_the_active_task_limit(user, make_task):
    task = make_task()
    payload = task_snapshot(task=task)
    task.delete()
    baker.make(Task, user=user, _quantity=50, _bulk_create=True)
    with pytest.raises(LimitExceeded):
        task_restore(user=user, payload=payload)


def test_api_round_trip_through_the_recovery_endpoint(api, full_task):
    detail_before = api.get(f"/api/v1/tasks/{full_task.pk}").json()["data"]
    tombstone_id = api.delete(f"/api/v1/tasks/{full_task.pk}").json()["data"]["tombstone_id"]
    assert api.get(f"/api/v1/tasks/{full_task.pk}").status_code == 404
    response = api.post(f"/api/v1/tombstones/{tombstone_id}/recover")
    assert response.status_code == 200, response.json()
    restored = response.json()["data"]
    detail_after = api.get(f"/api/v1/tasks/{full_task.pk}").json()["data"]
    assert restored == detail_after
    # Identical except the past reminder: still in the future here, so nothing was skipped.
    assert detail_after == detail_before
    # Recovering again: the tombstone is gone.
    assert api.post(f"/api/v1/tombstones/{tombstone_id}/recover").status_code == 404
