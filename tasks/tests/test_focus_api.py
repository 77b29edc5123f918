"""Focus sessions over HTTP (CONTRACT §11)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from recovery.models import ActivityEntry
from tasks.models import FocusSession, Task

pytestmark = pytest.mark.django_db

SESSION_FIELDS = {"id", "user_id", "task_id", "started_at", "ended_at", "duration_seconds", "created_at", "updated_at"}


def start(client, task_id):
    return client.post("/api/v1/focus/start", {"task_id": str(task_id)}, format="json")


def backdate(session_id, seconds):
    FocusSession.objects.filter(pk=session_id).update(started_at=timezone.now() - timedelta(seconds=seconds))


def test_start_active_end_by_session_id(api, user, task):
    assert api.get("/api/v1/focus/active").json() == {"data": None}
    response = start(api, task.pk)
    assert response.status_code == 201
    session = response.json()["data"]
    assert set(session) == SESSION_FIELDS
    assert session["user_id"] == str(user.pk) and session["task_id"] == str(task.pk)
    assert session["ended_at"] is None and session["duration_seconds"] is None
    assert api.get("/api/v1/focus/active").json()["data"]["id"] == session["id"]

    backdate(session["id"], 125.7)
    ended = api.post("/api/v1/focus/end", {"session_id": session["id"]}, format="json")
    assert ended.status_code == 200
    data = ended.json()["data"]
    assert data["ended_at"] is not None and data["duration_seconds"] == 125
    task.refresh_from_db()
    assert task.focus_time_seconds == 125
    assert task.version == 1  # focus time is not a versioned edit
    assert api.get("/api/v1/focus/active").json() == {"data": None}
    # Logged on the task: the SPA's Activity schema has no `focus_session` entity type.
    logged = ActivityEntry.objects.filter(action__startswith="focus_")
    assert {(e.entity_type, e.entity_id, e.action) for e in logged} == {
        ("task", task.pk, "focus_started"),
        ("task", task.pk, "focus_ended"),
    }
    assert {e.metadata["session_id"] for e in logged} == {session["id"]}


def test_end_by_task_id_accumulates_focus_time(api, make_task):
    task = make_task(focus_time_seconds=100)
    session_id = start(api, task.pk).json()["data"]["id"]
    backdate(session_id, 60)
    response = api.post("/api/v1/focus/end", {"task_id": str(task.pk)}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == session_id
    task.refresh_from_db()
    assert task.focus_time_seconds == 160


def test_only_one_open_session_per_user(api, make_task):
    first, second = make_task(), make_task()
    assert start(api, first.pk).status_code == 201
    response = start(api, second.pk)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert FocusSession.objects.count() == 1


def test_a_new_session_can_start_after_ending(api, task):
    session_id = start(api, task.pk).json()["data"]["id"]
    api.post("/api/v1/focus/end", {"session_id": session_id}, format="json")
    assert start(api, task.pk).status_code == 201


def test_ending_twice_is_409_and_adds_nothing(api, task):
    session_id = start(api, task.pk).json()["data"]["id"]
    backdate(session_id, 30)
    api.post("/api/v1/focus/end", {"session_id": session_id}, format="json")
    response = api.post("/api/v1/focus/end", {"session_id": session_id}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"
    task.refresh_from_db()
    assert task.focus_time_seconds == 30


@pytest.mark.parametrize(
    "url, body",
    [
        ("/api/v1/focus/start", {}),
        ("/api/v1/focus/start", {"task_id": "nope"}),
        ("/api/v1/focus/start", {"task_id": str(uuid.uuid4()), "extra": 1}),
        ("/api/v1/focus/end", {}),
        ("/api/v1/focus/end", {"session_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4())}),
    ],
)
def test_focus_validation(api, url, body):
    response = api.post(url, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_focus_not_found(api, task):
    response = start(api, uuid.uuid4())
    assert response.status_code == 404 and response.json()["error"]["code"] == "TASK_NOT_FOUND"
    response = api.post("/api/v1/focus/end", {"session_id": str(uuid.uuid4())}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    response = api.post("/api/v1/focus/end", {"task_id": str(task.pk)}, format="json")  # no open session
    assert response.status_code == 404


def test_focus_on_an_archived_task_is_409(api, make_task):
    response = start(api, make_task(archived=True).pk)
    assert response.status_code == 409 and response.json()["error"]["code"] == "ARCHIVED"


def test_cross_user_focus_is_403(api, other_api, make_task, other_user):
    foreign_task = make_task(owner=other_user)
    response = start(api, foreign_task.pk)
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"

    foreign_session = baker.make(FocusSession, user=other_user, task=foreign_task, started_at=timezone.now())
    response = api.post("/api/v1/focus/end", {"session_id": str(foreign_session.pk)}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    response = api.post("/api/v1/focus/end", {"task_id": str(foreign_task.pk)}, format="json")
    assert response.status_code == 403
    assert api.get("/api/v1/focus/active").json() == {"data": None}
    assert other_api.get("/api/v1/focus/active").json()["data"]["id"] == str(foreign_session.pk)
    foreign_session.refresh_from_db()
    assert foreign_session.ended_at is None
    assert Task.objects.get(pk=foreign_task.pk).focus_time_seconds == 0


def test_focus_time_survives_a_concurrent_task_patch(api, task):
    session_id = start(api, task.pk).json()["data"]["id"]
    backdate(session_id, 10)
    api.post("/api/v1/focus/end", {"session_id": session_id}, format="json")
    # The client still holds version 1: its edit is not a conflict, and focus time stays.
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"version": 1, "title": "edited"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["focus_time_seconds"] == 10


def test_completing_a_task_ends_its_running_session_and_counts_the_time(api, make_task):
    task = make_task(estimated_duration=10)
    session = start(api, task.pk).json()["data"]
    backdate(session["id"], 6 * 60)  # 6 of 10 minutes: a focus completion (>= 50%)
    response = api.patch(f"/api/v1/tasks/{task.pk}", {"version": task.version, "completed": True}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["focus_time_seconds"] >= 360
    ended = FocusSession.objects.get(pk=session["id"])
    assert ended.ended_at is not None and ended.duration_seconds >= 360
    assert api.get("/api/v1/focus/active").json() == {"data": None}
    from gamification.models import UserProgress

    assert UserProgress.objects.get(user_id=task.user_id).focus_completions == 1


def test_ending_by_path_takes_no_body_fields(api, task):
    session_id = start(api, task.pk).json()["data"]["id"]
    response = api.post(f"/api/v1/focus-sessions/{session_id}/end", {"task_id": str(task.pk)}, format="json")
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "task_id"
    assert FocusSession.objects.get(pk=session_id).ended_at is None


@pytest.mark.parametrize("per_task", [False, True])
def test_focus_session_lists_cost_constant_queries(api, user, task, per_task, django_assert_max_num_queries):
    now = timezone.now()
    sessions = [
        FocusSession(user=user, task=task, started_at=now - timedelta(hours=i + 1), ended_at=now, duration_seconds=1)
        for i in range(12)
    ]
    FocusSession.objects.bulk_create(sessions)
    url = f"/api/v1/tasks/{task.pk}/focus-sessions" if per_task else "/api/v1/focus-sessions"
    with django_assert_max_num_queries(4 if per_task else 3):
        assert len(api.get(url).json()["data"]) == 12
