"""Reminders (CONTRACT §6): endpoints, scheduling rules, recompute on due change, firing."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from model_bakery import baker

from notifications.models import Notification
from perpetua.api.serializers import format_datetime
from recovery.models import ActivityEntry
from tasks.models import Reminder, Task
from tasks.services import reminders

pytestmark = pytest.mark.django_db

REMINDER_FIELDS = {
    "id",
    "user_id",
    "task_id",
    "type",
    "offset_minutes",
    "scheduled_at",
    "method",
    "fired",
    "fired_at",
    "created_at",
    "updated_at",
}
FIRE_JOB = "tasks.services.reminders.reminders_fire_due_job"


def iso(value: dt.datetime) -> str:
    return format_datetime(value)


def soon(**delta) -> dt.datetime:
    return (timezone.now() + timedelta(**delta)).replace(microsecond=0)


@pytest.fixture
def due():
    return soon(days=2)


@pytest.fixture
def due_task(make_task, due):
    return make_task(title="File taxes", due_date=due)


def add(client, task, **body):
    return client.post(f"/api/v1/tasks/{task.pk}/reminders", body, format="json")


def make_reminder(task, **fields):
    fields.setdefault("type", "absolute")
    fields.setdefault("scheduled_at", soon(hours=1))
    return baker.make(Reminder, user=task.user, task=task, **fields)


# --- create ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "offset", "delta"),
    [
        ("before", -15, -15),
        ("before", 15, -15),
        ("after", 30, 30),
        ("after", -30, 30),
        ("before", 0, 0),
    ],
)
def test_relative_reminder_uses_the_offset_magnitude(api, due_task, due, type_, offset, delta):
    response = add(api, due_task, type=type_, offset_minutes=offset)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert set(data) == REMINDER_FIELDS
    assert data["offset_minutes"] == offset  # echoed as sent
    assert data["scheduled_at"] == iso(due + timedelta(minutes=delta))
    assert data["type"] == type_ and data["method"] == "in_app"
    assert data["fired"] is False and data["fired_at"] is None
    assert data["task_id"] == str(due_task.pk) and data["user_id"] == str(due_task.user_id)
    assert ActivityEntry.objects.filter(entity_type="reminder", entity_id=data["id"], action="created").exists()


def test_absolute_reminder(api, task):
    when = soon(hours=3)
    response = add(api, task, type="absolute", scheduled_at=iso(when), method="push")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["scheduled_at"] == iso(when) and data["offset_minutes"] is None and data["method"] == "push"


def test_create_schedules_the_firing_job(api, due_task, due, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data = add(api, due_task, type="before", offset_minutes=-10).json()["data"]
    job = DBTaskResult.objects.get(task_path=FIRE_JOB)
    assert job.run_after == due - timedelta(minutes=10)
    assert data["scheduled_at"] == iso(job.run_after)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "before", "offset_minutes": -15}, "type"),  # the task has no due date
        ({"type": "absolute"}, "scheduled_at"),
        ({"type": "absolute", "scheduled_at": "2020-01-01T00:00:00Z"}, "scheduled_at"),
        ({"type": "absolute", "scheduled_at": "tomorrow"}, "scheduled_at"),
        ({"type": "sometimes", "offset_minutes": 5}, "type"),
        ({"offset_minutes": 5}, "type"),
        ({"type": "absolute", "scheduled_at": "2031-01-01T00:00:00Z", "method": "sms"}, "method"),
        ({"type": "absolute", "scheduled_at": "2031-01-01T00:00:00Z", "color": "red"}, "color"),
    ],
)
def test_create_validation_errors(api, task, body, field):
    response = add(api, task, **body)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in {d["field"] for d in error["details"]}
    assert not Reminder.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "before"}, "offset_minutes"),
        ({"type": "after", "offset_minutes": None}, "offset_minutes"),
        ({"type": "before", "offset_minutes": 43201}, "offset_minutes"),
        ({"type": "absolute", "offset_minutes": 5, "scheduled_at": "2031-01-01T00:00:00Z"}, "offset_minutes"),
    ],
)
def test_create_validation_errors_with_due_date(api, due_task, body, field):
    response = add(api, due_task, **body)
    assert response.status_code == 400, response.json()
    assert field in {d["field"] for d in response.json()["error"]["details"]}


def test_five_reminders_per_task_then_limit_exceeded(api, due_task):
    for i in range(5):
        assert add(api, due_task, type="before", offset_minutes=i + 1).status_code == 201
    response = add(api, due_task, type="before", offset_minutes=60)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert due_task.reminders.count() == 5


def test_fired_reminders_count_against_the_limit(api, due_task, settings):
    settings.MAX_REMINDERS_PER_TASK = 2
    make_reminder(due_task, fired=True, fired_at=timezone.now())
    make_reminder(due_task)
    assert add(api, due_task, type="before", offset_minutes=5).status_code == 409


def test_create_on_other_users_missing_or_archived_task(api, other_api, due_task, make_task):
    forbidden = add(other_api, due_task, type="before", offset_minutes=5)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
    missing = api.post(
        "/api/v1/tasks/00000000-0000-4000-8000-000000000000/reminders",
        {"type": "before", "offset_minutes": 5},
        format="json",
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "TASK_NOT_FOUND"
    archived = make_task(archived=True, due_date=soon(days=1))
    response = add(api, archived, type="before", offset_minutes=5)
    assert response.status_code == 409 and response.json()["error"]["code"] == "ARCHIVED"


# --- list / detail --------------------------------------------------------------------------------


def test_list_own_reminders_filtered_and_paginated(api, other_api, user, other_user, make_task, due_task):
    second = make_task(title="Second")
    mine = [make_reminder(due_task, scheduled_at=soon(hours=h)) for h in (3, 1, 2)]
    make_reminder(second, fired=True)
    theirs = make_task(owner=other_user)
    make_reminder(theirs)

    body = api.get("/api/v1/reminders").json()
    assert body["pagination"]["total"] == 4
    assert all(set(r) == REMINDER_FIELDS for r in body["data"])
    by_task = api.get(f"/api/v1/reminders?task_id={due_task.pk}").json()
    assert [r["id"] for r in by_task["data"]] == [str(mine[i].pk) for i in (1, 2, 0)]  # by scheduled_at
    assert api.get("/api/v1/reminders?fired=true").json()["pagination"]["total"] == 1
    page = api.get("/api/v1/reminders?limit=2&offset=2").json()
    assert page["pagination"] == {"offset": 2, "limit": 2, "total": 4, "has_more": False}

    forbidden = api.get(f"/api/v1/reminders?task_id={theirs.pk}")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
    missing = api.get("/api/v1/reminders?task_id=00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert api.get("/api/v1/reminders?task_id=nope").status_code == 400
    assert api.get("/api/v1/reminders?fired=perhaps").status_code == 400
    assert api.get("/api/v1/reminders?limit=0").status_code == 400


def test_list_query_count_is_constant(api, make_task, django_assert_max_num_queries):
    tasks = [make_task(title=f"t{i}") for i in range(10)]
    for t in tasks:
        for h in range(3):
            make_reminder(t, scheduled_at=soon(hours=h + 1))
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/v1/reminders?limit=100").json()["data"]) == 30
    with django_assert_max_num_queries(4):
        assert len(api.get(f"/api/v1/reminders?task_id={tasks[0].pk}").json()["data"]) == 3


def test_retrieve(api, other_api, due_task):
    reminder = make_reminder(due_task)
    assert api.get(f"/api/v1/reminders/{reminder.pk}").json()["data"]["id"] == str(reminder.pk)
    assert other_api.get(f"/api/v1/reminders/{reminder.pk}").status_code == 403
    assert api.get("/api/v1/reminders/00000000-0000-4000-8000-000000000000").status_code == 404


def test_task_detail_embeds_reminders(api, due_task):
    add(api, due_task, type="before", offset_minutes=-5)
    detail = api.get(f"/api/v1/tasks/{due_task.pk}").json()["data"]
    assert len(detail["reminders"]) == 1 and detail["reminders"][0]["offset_minutes"] == -5


# --- update / delete ------------------------------------------------------------------------------


def patch(client, reminder, body):
    return client.patch(f"/api/v1/reminders/{reminder['id'] if isinstance(reminder, dict) else reminder.pk}",
                        body, format="json")  # fmt: skip


def test_patch_offset_type_and_method(api, due_task, due):
    data = add(api, due_task, type="before", offset_minutes=-15).json()["data"]
    response = patch(api, data, {"offset_minutes": -60})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["scheduled_at"] == iso(due - timedelta(hours=1))
    after = patch(api, data, {"type": "after"}).json()["data"]
    assert after["scheduled_at"] == iso(due + timedelta(hours=1)) and after["offset_minutes"] == -60
    when = soon(hours=5)
    absolute = patch(api, data, {"type": "absolute", "scheduled_at": iso(when), "offset_minutes": None}).json()
    assert absolute["data"]["scheduled_at"] == iso(when) and absolute["data"]["offset_minutes"] is None
    push = patch(api, data, {"method": "push"}).json()["data"]
    assert push["method"] == "push" and push["scheduled_at"] == iso(when)
    back = patch(api, data, {"type": "before", "offset_minutes": 10}).json()["data"]
    assert back["scheduled_at"] == iso(due - timedelta(minutes=10))
    assert ActivityEntry.objects.filter(entity_type="reminder", entity_id=data["id"], action="updated").count() == 5


def test_patch_errors(api, other_api, due_task, make_task):
    data = add(api, due_task, type="before", offset_minutes=-15).json()["data"]
    switch = patch(api, data, {"type": "absolute"})
    assert switch.status_code == 400 and switch.json()["error"]["details"][0]["field"] == "scheduled_at"
    ignored = patch(api, data, {"scheduled_at": iso(soon(hours=1))})  # computed for a relative reminder (§6)
    assert ignored.status_code == 200 and ignored.json()["data"]["scheduled_at"] == data["scheduled_at"]
    assert patch(api, data, {"method": None}).status_code == 400
    assert patch(api, data, {"color": "red"}).status_code == 400
    assert patch(other_api, data, {"offset_minutes": 5}).status_code == 403
    missing = api.patch("/api/v1/reminders/00000000-0000-4000-8000-000000000000", {"method": "push"}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    Task.objects.filter(pk=due_task.pk).update(archived=True)
    archived = patch(api, data, {"offset_minutes": 5})
    assert archived.status_code == 409 and archived.json()["error"]["code"] == "ARCHIVED"
    assert Reminder.objects.get(pk=data["id"]).offset_minutes == -15


def test_moving_a_fired_reminder_to_the_future_rearms_it(api, due_task):
    reminder = make_reminder(due_task, scheduled_at=soon(hours=-1), fired=True, fired_at=timezone.now())
    when = soon(hours=2)
    data = patch(api, reminder, {"scheduled_at": iso(when)}).json()["data"]
    assert data["fired"] is False and data["fired_at"] is None and data["scheduled_at"] == iso(when)


def test_delete(api, other_api, due_task):
    reminder = make_reminder(due_task)
    assert other_api.delete(f"/api/v1/reminders/{reminder.pk}").status_code == 403
    response = api.delete(f"/api/v1/reminders/{reminder.pk}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": str(reminder.pk), "deleted": True}}
    assert not Reminder.objects.filter(pk=reminder.pk).exists()
    assert api.delete(f"/api/v1/reminders/{reminder.pk}").status_code == 404
    assert ActivityEntry.objects.filter(entity_type="reminder", entity_id=reminder.pk, action="deleted").exists()


def test_delete_on_archived_task_is_409(api, make_task):
    archived = make_task(archived=True)
    reminder = make_reminder(archived)
    response = api.delete(f"/api/v1/reminders/{reminder.pk}")
    assert response.status_code == 409 and response.json()["error"]["code"] == "ARCHIVED"


# --- recompute on due-date change -----------------------------------------------------------------


def test_recompute_moves_relative_reminders_and_rearms_fired_ones_now_in_the_future(due_task, due):
    before = make_reminder(due_task, type="before", offset_minutes=-15, scheduled_at=due - timedelta(minutes=15))
    after = make_reminder(due_task, type="after", offset_minutes=10, scheduled_at=due + timedelta(minutes=10))
    fixed_at = soon(hours=4)
    absolute = make_reminder(due_task, type="absolute", scheduled_at=fixed_at)
    fired_at = timezone.now()
    fired = make_reminder(
        due_task, type="before", offset_minutes=5, scheduled_at=due - timedelta(minutes=5), fired=True,
        fired_at=fired_at,
    )  # fmt: skip
    long_ago = make_reminder(
        due_task, type="before", offset_minutes=43200, scheduled_at=due - timedelta(days=30), fired=True,
        fired_at=fired_at,
    )  # fmt: skip

    new_due = due + timedelta(days=1, hours=2)
    due_task.due_date = new_due
    Task.objects.filter(pk=due_task.pk).update(due_date=new_due)
    reminders.reminders_recompute_for_task(task=due_task)

    for row in (before, after, absolute, fired, long_ago):
        row.refresh_from_db()
    assert before.scheduled_at == new_due - timedelta(minutes=15) and before.offset_minutes == -15
    assert after.scheduled_at == new_due + timedelta(minutes=10)
    assert absolute.scheduled_at == fixed_at
    # Fired, now due again in the future: re-armed, so the postponed task reminds again.
    assert fired.scheduled_at == new_due - timedelta(minutes=5) and not fired.fired and fired.fired_at is None
    # Fired, and its new time is still past: stays fired (never fires late).
    assert long_ago.scheduled_at == new_due - timedelta(days=30) and long_ago.fired and long_ago.fired_at == fired_at


def test_due_date_patch_recomputes_relative_reminders(api, due_task, due):
    data = add(api, due_task, type="before", offset_minutes=-30).json()["data"]
    new_due = due + timedelta(hours=5)
    response = api.patch(f"/api/v1/tasks/{due_task.pk}", {"version": 1, "due_date": iso(new_due)}, format="json")
    assert response.status_code == 200, response.json()
    assert Reminder.objects.get(pk=data["id"]).scheduled_at == new_due - timedelta(minutes=30)


def test_cleared_due_date_leaves_relative_reminders_dormant(api, due_task, due):
    data = add(api, due_task, type="before", offset_minutes=-30).json()["data"]
    api.patch(f"/api/v1/tasks/{due_task.pk}", {"version": 1, "due_date": None}, format="json")
    Reminder.objects.filter(pk=data["id"]).update(scheduled_at=timezone.now() - timedelta(minutes=1))
    assert reminders.reminders_fire_due() == 0
    assert Reminder.objects.get(pk=data["id"]).fired is False
    new_due = soon(days=1)
    api.patch(f"/api/v1/tasks/{due_task.pk}", {"version": 2, "due_date": iso(new_due)}, format="json")
    assert Reminder.objects.get(pk=data["id"]).scheduled_at == new_due - timedelta(minutes=30)


# --- firing ---------------------------------------------------------------------------------------


def test_fire_due_creates_one_notification_per_due_reminder(due_task, user, make_task):
    past = make_reminder(due_task, type="before", offset_minutes=-15, scheduled_at=soon(minutes=-1))
    push = make_reminder(due_task, scheduled_at=soon(minutes=-2), method="push")
    future = make_reminder(due_task, scheduled_at=soon(hours=1))
    long_title = make_task(title="x" * 200)
    truncated = make_reminder(long_title, scheduled_at=soon(minutes=-3))

    assert reminders.reminders_fire_due() == 3
    assert reminders.reminders_fire_due() == 0  # exactly once

    notes = Notification.objects.filter(user=user).order_by("created_at")
    assert notes.count() == 3
    by_url = {n.action_url: n for n in notes}
    assert by_url[f"/tasks/{due_task.pk}"].type == "reminder"
    assert by_url[f"/tasks/{due_task.pk}"].title == "File taxes"
    assert by_url[f"/tasks/{long_title.pk}"].title == "x" * 100
    for row in (past, push, truncated):
        row.refresh_from_db()
        assert row.fired is True and row.fired_at is not None
    future.refresh_from_db()
    assert future.fired is False
    body = Notification.objects.filter(action_url=f"/tasks/{due_task.pk}").values_list("body", flat=True)
    assert "Due in 15 minutes." in set(body)


def test_a_fired_reminders_notification_names_its_task(api, due_task, make_task):
    """CONTRACT §13: the SPA's Notification schema needs `task_id` (the reminder's task)."""
    other = make_task(title="Other")
    make_reminder(due_task, scheduled_at=soon(minutes=-1))
    make_reminder(other, scheduled_at=soon(minutes=-1))
    assert reminders.reminders_fire_due() == 2
    assert set(Notification.objects.values_list("task_id", "title")) == {
        (due_task.pk, "File taxes"),
        (other.pk, "Other"),
    }
    listed = api.get("/api/v1/notifications").json()["data"]
    assert {(n["task_id"], n["title"]) for n in listed} == {(str(due_task.pk), "File taxes"), (str(other.pk), "Other")}


def test_push_method_asks_for_a_push(due_task, monkeypatch):
    calls = []
    monkeypatch.setattr(reminders, "notification_create", lambda **kw: calls.append(kw))
    make_reminder(due_task, scheduled_at=soon(minutes=-1), method="push")
    make_reminder(due_task, scheduled_at=soon(minutes=-1), method="in_app")
    reminders.reminders_fire_due()
    assert sorted(c["push"] for c in calls) == [False, True]
    assert all(c["type"] == "reminder" and c["action_url"] == f"/tasks/{due_task.pk}" for c in calls)


def test_reminders_of_completed_or_archived_tasks_are_skipped(make_task, user):
    done = make_task(completed=True, completed_at=timezone.now())
    shelved = make_task(archived=True)
    rows = [make_reminder(done, scheduled_at=soon(minutes=-1)), make_reminder(shelved, scheduled_at=soon(minutes=-1))]
    assert reminders.reminders_fire_due() == 0
    assert not Notification.objects.filter(user=user).exists()
    for row in rows:
        row.refresh_from_db()
        assert row.fired is True and row.fired_at is not None


def test_failing_notification_leaves_the_reminder_unfired(due_task, monkeypatch):
    bad = make_reminder(due_task, scheduled_at=soon(minutes=-2))
    good = make_reminder(due_task, scheduled_at=soon(minutes=-1))

    def flaky(**kwargs):
        if not flaky.failed:
            flaky.failed = True
            raise RuntimeError("push service down")
        return None

    flaky.failed = False
    monkeypatch.setattr(reminders, "notification_create", flaky)
    assert reminders.reminders_fire_due() == 1
    bad.refresh_from_db()
    good.refresh_from_db()
    assert bad.fired is False and good.fired is True
    assert reminders.reminders_fire_due() == 1  # the next run retries it
    bad.refresh_from_db()
    assert bad.fired is True


def test_fire_in_batches(due_task, make_task):
    for i in range(7):
        make_reminder(make_task(title=f"t{i}"), scheduled_at=soon(minutes=-1))
    assert reminders.reminders_fire_due(batch_size=3) == 7
    assert not Reminder.objects.filter(fired=False).exists()


def test_fire_reminders_command(due_task, capsys):
    make_reminder(due_task, scheduled_at=soon(minutes=-1))
    call_command("fire_reminders")
    assert "fired 1 reminder(s)" in capsys.readouterr().out
    call_command("fire_reminders")
    assert "fired 0 reminder(s)" in capsys.readouterr().out
    assert Notification.objects.count() == 1


def test_fire_job_runs_the_service(due_task):
    make_reminder(due_task, scheduled_at=soon(minutes=-1))
    assert reminders.reminders_fire_due_job.call() == 1


def test_a_reminder_before_the_start_of_the_calendar_is_a_400(api, make_task):
    task = make_task(due_date=dt.datetime(1, 1, 1, 0, 5, tzinfo=dt.UTC))
    response = add(api, task, type="before", offset_minutes=15)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "offset_minutes"
    detail = api.get(f"/api/v1/tasks/{task.pk}").json()["data"]
    assert detail["due_date"] == "0001-01-01T00:05:00.000Z"  # four-digit year, as ISO-8601 wants
