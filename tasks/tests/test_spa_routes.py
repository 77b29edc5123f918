"""The task-side calls of the real SPA (../shared/SPA.md §4 to §6, §8): the routes, aliases and
bodies it sends, pinned here so the suite keeps the SPA working without running it."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from perpetua.api.serializers import format_datetime
from tasks.models import FocusSession, Reminder, Subtask, Task

pytestmark = pytest.mark.django_db

MISSING = "00000000-0000-4000-8000-000000000000"


def soon(**delta) -> dt.datetime:
    return (timezone.now() + timedelta(**delta)).replace(microsecond=0)


# --- tasks: version is an optional precondition (CONTRACT §0) -----------------------------------


@pytest.mark.parametrize("body", [{"completed": True}, {"hidden": True}])
@pytest.mark.parametrize("method", ["patch", "put"])
def test_task_write_without_version_applies_and_bumps_version(api, task, body, method):
    response = getattr(api, method)(f"/api/v1/tasks/{task.pk}", body, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["version"] == 2
    task.refresh_from_db()
    assert task.version == 2
    assert all(getattr(task, field) == value for field, value in body.items())


def test_reopen_without_version(api, make_task):
    task = make_task(completed=True, completed_at=timezone.now(), completed_by="manual")
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"completed": False}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["completed"] is False and response.json()["data"]["completed_at"] is None


def test_given_version_is_still_checked(api, task):
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"completed": True, "version": 5}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"
    task.refresh_from_db()
    assert task.completed is False and task.version == 1


@pytest.mark.parametrize("version", ["2", True, 1.5, None, -1])
def test_a_malformed_version_is_a_400(api, task, version):
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"hidden": True, "version": version}, format="json")
    assert response.status_code == 400
    assert "version" in {d["field"] for d in response.json()["error"]["details"]}


def test_force_complete_without_version(api, task, make_subtask):
    make_subtask(task, 2)
    response = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {}, format="json")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["task"]["completed_by"] == "force" and data["task"]["version"] == 2
    assert not Subtask.objects.filter(task=task, completed=False).exists()
    stale = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {"version": 1}, format="json")
    assert stale.status_code == 409


# --- subtasks (CONTRACT §4) ---------------------------------------------------------------------


def test_subtask_list_route_by_order_index(api, other_api, task, make_subtask):
    Subtask.objects.bulk_create(
        [baker.prepare(Subtask, task=task, title=t, order_index=i) for i, t in [(1, "b"), (0, "a"), (2, "c")]]
    )
    response = api.get(f"/api/v1/tasks/{task.pk}/subtasks")
    assert response.status_code == 200
    body = response.json()
    assert [s["title"] for s in body["data"]] == ["a", "b", "c"]
    assert {s["task_id"] for s in body["data"]} == {str(task.pk)}
    assert other_api.get(f"/api/v1/tasks/{task.pk}/subtasks").json()["error"]["code"] == "FORBIDDEN"
    assert api.get(f"/api/v1/tasks/{MISSING}/subtasks").json()["error"]["code"] == "TASK_NOT_FOUND"


def test_subtask_list_query_count_is_constant(api, task, make_subtask, django_assert_max_num_queries):
    make_subtask(task, 8)
    with django_assert_max_num_queries(4):
        assert len(api.get(f"/api/v1/tasks/{task.pk}/subtasks").json()["data"]) == 8


def test_subtask_put_is_an_alias_of_patch(api, task, make_subtask):
    first, second = make_subtask(task, 2)
    response = api.put(f"/api/v1/subtasks/{first.pk}", {"completed": True}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["completed"] is True and response.json()["task_completed"] is False
    response = api.put(f"/api/v1/subtasks/{second.pk}", {"completed": True}, format="json")
    assert response.json()["task_completed"] is True  # the last open subtask auto-completes the parent
    task.refresh_from_db()
    assert task.completed and task.completed_by == "auto"


def test_subtask_complete_route(api, other_api, task, make_subtask):
    (subtask,) = make_subtask(task, 1)
    assert other_api.post(f"/api/v1/subtasks/{subtask.pk}/complete", {}, format="json").status_code == 403
    response = api.post(f"/api/v1/subtasks/{subtask.pk}/complete", {}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["data"]["completed"] is True and body["data"]["completed_at"].endswith("Z")
    assert body["task_completed"] is True and "unlocked_achievements" in body
    assert api.post(f"/api/v1/subtasks/{uuid.uuid4()}/complete", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("order_index", "expected"), [(0, ["new", "s0", "s1"]), (1, ["s0", "new", "s1"]), (9, ["s0", "s1", "new"])]
)
def test_subtask_create_with_order_index_inserts_and_shifts(api, task, make_subtask, order_index, expected):
    Subtask.objects.bulk_create([baker.prepare(Subtask, task=task, title=f"s{i}", order_index=i) for i in range(2)])
    response = api.post(
        f"/api/v1/tasks/{task.pk}/subtasks", {"title": "new", "order_index": order_index}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["order_index"] == expected.index("new")
    rows = list(Subtask.objects.filter(task=task).order_by("order_index").values_list("title", "order_index"))
    assert rows == [(title, i) for i, title in enumerate(expected)]


@pytest.mark.parametrize("order_index", [-1, "1", 1.5, None])
def test_subtask_create_with_a_bad_order_index_is_a_400(api, task, order_index):
    response = api.post(f"/api/v1/tasks/{task.pk}/subtasks", {"title": "x", "order_index": order_index}, format="json")
    assert response.status_code == 400
    assert "order_index" in {d["field"] for d in response.json()["error"]["details"]}
    assert not Subtask.objects.exists()


def test_subtask_delete_answers_200_with_json(api, task, make_subtask):
    (subtask,) = make_subtask(task, 1)
    response = api.delete(f"/api/v1/subtasks/{subtask.pk}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": str(subtask.pk), "deleted": True}}


# --- reminders (CONTRACT §6) --------------------------------------------------------------------


@pytest.fixture
def due_task(make_task):
    return make_task(title="File taxes", due_date=soon(days=2))


def test_post_reminders_with_the_forms_before_body(api, due_task):
    """The ReminderForm always sends `scheduled_at` (computed on the client); the server recomputes it."""
    body = {
        "task_id": str(due_task.pk),
        "type": "before",
        "offset_minutes": -15,
        "scheduled_at": "2031-01-01T00:00:00.000Z",
        "method": "in_app",
    }
    response = api.post("/api/v1/reminders", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["task_id"] == str(due_task.pk) and data["offset_minutes"] == -15
    assert data["scheduled_at"] == format_datetime(due_task.due_date - timedelta(minutes=15))


def test_post_reminders_absolute_with_offset_zero_stores_null(api, due_task):
    when = soon(hours=5)
    body = {"task_id": str(due_task.pk), "type": "absolute", "offset_minutes": 0, "scheduled_at": format_datetime(when)}
    response = api.post("/api/v1/reminders", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["offset_minutes"] is None
    assert Reminder.objects.get().offset_minutes is None


def test_nested_route_accepts_the_forms_bodies_too(api, due_task):
    body = {"type": "after", "offset_minutes": 10, "scheduled_at": "2031-01-01T00:00:00Z"}
    response = api.post(f"/api/v1/tasks/{due_task.pk}/reminders", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["scheduled_at"] == format_datetime(due_task.due_date + timedelta(minutes=10))


def test_absolute_with_a_nonzero_offset_is_still_a_400(api, due_task):
    body = {
        "task_id": str(due_task.pk),
        "type": "absolute",
        "offset_minutes": 5,
        "scheduled_at": "2031-01-01T00:00:00Z",
    }
    response = api.post("/api/v1/reminders", body, format="json")
    assert response.status_code == 400
    assert "offset_minutes" in {d["field"] for d in response.json()["error"]["details"]}


def test_post_reminders_task_ownership_and_validation(api, other_api, due_task):
    body = {"type": "before", "offset_minutes": -5}
    forbidden = other_api.post("/api/v1/reminders", {**body, "task_id": str(due_task.pk)}, format="json")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
    missing = api.post("/api/v1/reminders", {**body, "task_id": MISSING}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "TASK_NOT_FOUND"
    for bad in [{}, {"task_id": "nope"}, {"task_id": None}]:
        response = api.post("/api/v1/reminders", {**body, **bad}, format="json")
        assert response.status_code == 400 and "task_id" in {d["field"] for d in response.json()["error"]["details"]}
    assert not Reminder.objects.exists()


def test_task_reminders_list_equals_the_filtered_list(api, other_api, due_task, make_task):
    other = make_task(due_date=soon(days=1))
    for task in (due_task, due_task, other):
        baker.make(Reminder, user=task.user, task=task, type="absolute", scheduled_at=soon(hours=1))
    nested = api.get(f"/api/v1/tasks/{due_task.pk}/reminders")
    filtered = api.get(f"/api/v1/reminders?task_id={due_task.pk}")
    assert nested.status_code == 200 and len(nested.json()["data"]) == 2
    assert nested.json() == filtered.json()
    assert other_api.get(f"/api/v1/tasks/{due_task.pk}/reminders").status_code == 403


def test_reminder_put_is_a_partial_update(api, due_task):
    reminder = baker.make(
        Reminder,
        user=due_task.user,
        task=due_task,
        type="before",
        offset_minutes=-15,
        scheduled_at=due_task.due_date - timedelta(minutes=15),
    )
    response = api.put(f"/api/v1/reminders/{reminder.pk}", {"method": "push"}, format="json")
    assert response.status_code == 200, response.json()
    reminder.refresh_from_db()
    assert reminder.method == "push" and reminder.offset_minutes == -15


def test_reminder_delete_answers_200_with_json(api, due_task):
    reminder = baker.make(Reminder, user=due_task.user, task=due_task, type="absolute", scheduled_at=soon(hours=1))
    response = api.delete(f"/api/v1/reminders/{reminder.pk}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": str(reminder.pk), "deleted": True}}


def test_template_delete_answers_200_with_json(api, user):
    body = {"title": "Standup", "rrule": "FREQ=DAILY", "dtstart": format_datetime(soon(days=1))}
    created = api.post("/api/v1/templates", body, format="json")
    assert created.status_code == 201, created.json()
    template_id = created.json()["data"]["id"]
    response = api.delete(f"/api/v1/templates/{template_id}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": template_id, "deleted": True}}


# --- focus sessions as a resource (CONTRACT §11) ------------------------------------------------

SESSION_FIELDS = {"id", "user_id", "task_id", "started_at", "ended_at", "duration_seconds", "created_at", "updated_at"}


def test_focus_sessions_resource(api, other_api, task):
    assert api.get("/api/v1/focus-sessions/active").json()["error"]["code"] == "NOT_FOUND"
    created = api.post("/api/v1/focus-sessions", {"task_id": str(task.pk)}, format="json")
    assert created.status_code == 201, created.json()
    session = created.json()["data"]
    assert set(session) == SESSION_FIELDS and session["ended_at"] is None

    active = api.get("/api/v1/focus-sessions/active")
    assert active.status_code == 200 and active.json()["data"]["id"] == session["id"]
    assert other_api.post(f"/api/v1/focus-sessions/{session['id']}/end", {}, format="json").status_code == 403

    FocusSession.objects.filter(pk=session["id"]).update(started_at=timezone.now() - timedelta(seconds=90))
    ended = api.post(f"/api/v1/focus-sessions/{session['id']}/end", {}, format="json")
    assert ended.status_code == 200, ended.json()
    assert ended.json()["data"]["duration_seconds"] == 90
    task.refresh_from_db()
    assert task.focus_time_seconds == 90
    assert api.post(f"/api/v1/focus-sessions/{session['id']}/end", {}, format="json").status_code == 409
    assert api.get("/api/v1/focus-sessions/active").status_code == 404
    assert api.post(f"/api/v1/focus-sessions/{uuid.uuid4()}/end", {}, format="json").status_code == 404


def test_focus_sessions_lists_newest_first_paginated(api, other_api, user, task, make_task):
    other_task = make_task()
    now = timezone.now()
    for i, t in enumerate([task, other_task, task]):
        baker.make(
            FocusSession, user=user, task=t, started_at=now - timedelta(hours=3 - i), ended_at=now, duration_seconds=1
        )
    everything = api.get("/api/v1/focus-sessions").json()
    starts = [s["started_at"] for s in everything["data"]]
    assert len(starts) == 3 and starts == sorted(starts, reverse=True)
    assert everything["pagination"]["total"] == 3
    assert api.get("/api/v1/focus-sessions?limit=1").json()["pagination"]["has_more"] is True
    per_task = api.get(f"/api/v1/tasks/{task.pk}/focus-sessions").json()
    assert len(per_task["data"]) == 2 and {s["task_id"] for s in per_task["data"]} == {str(task.pk)}
    assert other_api.get("/api/v1/focus-sessions").json()["data"] == []
    assert other_api.get(f"/api/v1/tasks/{task.pk}/focus-sessions").status_code == 403
    assert api.get("/api/v1/focus-sessions?limit=0").status_code == 400


def test_focus_sessions_start_validation(api, task):
    assert api.post("/api/v1/focus-sessions", {}, format="json").status_code == 400
    assert api.post("/api/v1/focus-sessions", {"task_id": MISSING}, format="json").status_code == 404
    assert api.post("/api/v1/focus-sessions", {"task_id": str(task.pk), "x": 1}, format="json").status_code == 400
    assert not FocusSession.objects.exists()
    assert Task.objects.get(pk=task.pk).focus_time_seconds == 0
