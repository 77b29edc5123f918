"""Tasks over HTTP: create, read, update, complete, archive (CONTRACT §3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from model_bakery import baker

from perpetua.api.serializers import format_datetime
from recovery.models import ActivityEntry
from tasks.models import Task
from tasks.tests.test_subtasks_api import SUBTASK_FIELDS

pytestmark = pytest.mark.django_db

TASK_FIELDS = {
    "id",
    "user_id",
    "template_id",
    "title",
    "description",
    "priority",
    "due_date",
    "estimated_duration",
    "focus_time_seconds",
    "completed",
    "completed_at",
    "completed_by",
    "hidden",
    "archived",
    "subtask_count",
    "subtask_completed_count",
    "version",
    "created_at",
    "updated_at",
}


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


def patch(client, task_id, body):
    return client.patch(f"/api/v1/tasks/{task_id}", body, format="json")


# --- create -----------------------------------------------------------------------------


def test_create_task_returns_201_with_contract_shape(api, user):
    due = timezone.now() + timedelta(days=3)
    response = api.post(
        "/api/v1/tasks",
        {
            "title": "  Plan the week  ",
            "description": "Sunday evening",
            "priority": "high",
            "due_date": iso(due),
            "estimated_duration": 45,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert set(data) == TASK_FIELDS
    assert data["title"] == "Plan the week"
    assert data["user_id"] == str(user.pk)
    assert data["template_id"] is None
    assert data["priority"] == "high"
    assert data["estimated_duration"] == 45
    assert data["focus_time_seconds"] == 0
    assert data["completed"] is False and data["completed_at"] is None and data["completed_by"] is None
    assert data["hidden"] is False and data["archived"] is False
    assert data["subtask_count"] == 0 and data["subtask_completed_count"] == 0
    assert data["version"] == 1
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == len("2026-01-19T10:30:00.000Z")
    assert data["due_date"] == format_datetime(due)
    assert Task.objects.get(pk=data["id"]).user == user
    assert ActivityEntry.objects.filter(entity_id=data["id"], action="created", source="user").exists()


def test_create_task_defaults(api):
    data = api.post("/api/v1/tasks", {"title": "x"}, format="json").json()["data"]
    assert data["description"] == ""
    assert data["priority"] == "medium"
    assert data["due_date"] is None
    assert data["estimated_duration"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "    "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "priority": "urgent"}, "priority"),
        ({"title": "ok", "estimated_duration": 0}, "estimated_duration"),
        ({"title": "ok", "estimated_duration": 721}, "estimated_duration"),
        ({"title": "ok", "due_date": "tomorrow"}, "due_date"),
        ({"title": "ok", "completed": True}, "completed"),
        ({"title": "ok", "color": "red"}, "color"),
    ],
)
def test_create_task_validation_errors(api, body, field):
    response = api.post("/api/v1/tasks", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in {d["field"] for d in error["details"]}
    assert "request_id" in error


def test_title_of_200_characters_is_accepted(api):
    response = api.post("/api/v1/tasks", {"title": "x" * 200, "estimated_duration": 720}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(("tier", "limit"), [("free", 1000), ("pro", 2000)])
def test_description_limit_by_tier(make_user, client_for, tier, limit):
    client = client_for(make_user(tier=tier))
    ok = client.post("/api/v1/tasks", {"title": "t", "description": "d" * limit}, format="json")
    assert ok.status_code == 201
    too_long = client.post("/api/v1/tasks", {"title": "t", "description": "d" * (limit + 1)}, format="json")
    assert too_long.status_code == 400
    assert too_long.json()["error"]["details"][0]["field"] == "description"
    task_id = ok.json()["data"]["id"]
    response = patch(client, task_id, {"version": 1, "description": "d" * (limit + 1)})
    assert response.status_code == 400


def test_due_date_at_most_30_days_after_creation_on_create(api):
    now = timezone.now()
    ok = api.post("/api/v1/tasks", {"title": "t", "due_date": iso(now + timedelta(days=29, hours=23))}, format="json")
    assert ok.status_code == 201
    late = api.post(
        "/api/v1/tasks", {"title": "t", "due_date": iso(now + timedelta(days=30, minutes=5))}, format="json"
    )
    assert late.status_code == 400
    assert late.json()["error"]["details"][0]["field"] == "due_date"
    past = api.post("/api/v1/tasks", {"title": "t", "due_date": iso(now - timedelta(days=2))}, format="json")
    assert past.status_code == 201


def test_due_date_rule_on_update_counts_from_created_at(api, make_task):
    task = make_task()
    created = timezone.now() - timedelta(days=10)
    Task.objects.filter(pk=task.pk).update(created_at=created)
    ok = patch(api, task.pk, {"version": 1, "due_date": iso(created + timedelta(days=30))})
    assert ok.status_code == 200, ok.json()
    late = patch(api, task.pk, {"version": 2, "due_date": iso(created + timedelta(days=30, seconds=1))})
    assert late.status_code == 400
    cleared = patch(api, task.pk, {"version": 2, "due_date": None})
    assert cleared.status_code == 200
    assert cleared.json()["data"]["due_date"] is None


@override_settings(MAX_TASK_DUE_DAYS=5)
def test_due_date_window_comes_from_settings(api):
    late = api.post("/api/v1/tasks", {"title": "t", "due_date": iso(timezone.now() + timedelta(days=6))}, format="json")
    assert late.status_code == 400


# --- active task limit --------------------------------------------------------------------


@pytest.mark.parametrize(("tier", "limit"), [("free", 50), ("pro", 200)])
def test_active_task_limit_by_tier(make_user, client_for, tier, limit):
    owner = make_user(tier=tier)
    baker.make("tasks.Task", user=owner, _quantity=limit - 1, _bulk_create=True)
    # Completed and archived tasks do not count.
    baker.make("tasks.Task", user=owner, completed=True, _quantity=3, _bulk_create=True)
    baker.make("tasks.Task", user=owner, archived=True, _quantity=3, _bulk_create=True)
    client = client_for(owner)
    assert client.post("/api/v1/tasks", {"title": "last one"}, format="json").status_code == 201
    response = client.post("/api/v1/tasks", {"title": "one too many"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert Task.objects.filter(user=owner, completed=False, archived=False).count() == limit


def test_reopen_and_unarchive_respect_the_active_limit(api, user, make_task):
    done = make_task(completed=True, completed_at=timezone.now(), completed_by="manual")
    archived = make_task(archived=True)
    baker.make("tasks.Task", user=user, _quantity=50, _bulk_create=True)
    response = patch(api, done.pk, {"version": 1, "completed": False})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    response = patch(api, archived.pk, {"version": 1, "archived": False})
    assert response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    done.refresh_from_db()
    assert done.completed and done.version == 1


def test_limit_reads_effective_limits(api, monkeypatch):
    from gamification.selectors import EffectiveLimits

    monkeypatch.setattr(
        "gamification.selectors.limits_for_user",
        lambda *, user: EffectiveLimits(
            max_tasks=1, max_subtasks=4, max_description_length=1000, max_notes=10, daily_ai_credits=0
        ),
    )
    assert api.post("/api/v1/tasks", {"title": "a"}, format="json").status_code == 201
    assert api.post("/api/v1/tasks", {"title": "b"}, format="json").status_code == 409


# --- detail ---------------------------------------------------------------------------------


def test_detail_includes_subtasks_by_order_index_and_reminders(api, task, make_subtask, django_assert_num_queries):
    make_subtask(task, 3)
    task.subtasks.filter(order_index=1).update(completed=True, completed_at=timezone.now())
    reminder = baker.make(
        "tasks.Reminder",
        user=task.user,
        task=task,
        type="before",
        offset_minutes=-15,
        scheduled_at=timezone.now() + timedelta(hours=1),
    )
    with django_assert_num_queries(1 + 1) as captured:  # token user + task with its subtasks and reminders
        response = api.get(f"/api/v1/tasks/{task.pk}")
    assert response.status_code == 200
    outer_query = captured.captured_queries[1]["sql"].rpartition(")")[2]  # after the children's subqueries
    assert "FROM tasks_task" in outer_query and "ORDER BY" not in outer_query  # a pk lookup sorts nothing
    data = response.json()["data"]
    assert set(data) == TASK_FIELDS | {"subtasks", "reminders"}
    assert [s["order_index"] for s in data["subtasks"]] == [0, 1, 2]
    assert set(data["subtasks"][0]) == SUBTASK_FIELDS
    assert data["subtasks"][0]["user_id"] == str(task.user_id)
    assert data["subtask_count"] == 3 and data["subtask_completed_count"] == 1
    assert data["reminders"] == [
        {
            "id": str(reminder.pk),
            "user_id": str(task.user_id),
            "task_id": str(task.pk),
            "type": "before",
            "offset_minutes": -15,
            "scheduled_at": data["reminders"][0]["scheduled_at"],
            "method": "in_app",
            "fired": False,
            "fired_at": None,
            "created_at": data["reminders"][0]["created_at"],
            "updated_at": data["reminders"][0]["updated_at"],
        }
    ]


def test_missing_task_is_404_task_not_found(api):
    response = api.get(f"/api/v1/tasks/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "TASK_NOT_FOUND"


def test_other_users_task_is_403_everywhere(api, make_task, other_user):
    foreign = make_task(owner=other_user)
    url = f"/api/v1/tasks/{foreign.pk}"
    responses = [
        api.get(url),
        api.patch(url, {"version": 1, "title": "mine"}, format="json"),
        api.put(url, {"version": 1, "title": "mine"}, format="json"),
        api.delete(url),
        api.post(f"{url}/force-complete", {"version": 1}, format="json"),
    ]
    for response in responses:
        assert response.status_code == 403, response.json()
        assert response.json()["error"]["code"] == "FORBIDDEN"
    foreign.refresh_from_db()
    assert foreign.title == "A task" and foreign.version == 1


def test_unauthenticated_is_401(anon_client):
    assert anon_client.get("/api/v1/tasks").status_code == 401


# --- update --------------------------------------------------------------------------------------


def test_patch_updates_fields_and_increments_version(api, task):
    response = patch(api, task.pk, {"version": 1, "title": " New ", "priority": "low", "hidden": True})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "unlocked_achievements"}
    assert body["unlocked_achievements"] == []
    assert body["data"]["title"] == "New"
    assert body["data"]["priority"] == "low"
    assert body["data"]["hidden"] is True
    assert body["data"]["description"] == "Quarterly numbers"  # omitted → unchanged
    assert body["data"]["version"] == 2
    task.refresh_from_db()
    assert task.version == 2 and task.title == "New"
    assert ActivityEntry.objects.filter(entity_id=task.pk, action="updated").exists()


def test_patch_costs_a_constant_number_of_queries_without_sorting_the_pk_lookup(api, task, django_assert_num_queries):
    # token user; SAVEPOINT (BEGIN outside the test's transaction); the task with its counts
    # (404/403, archived, the response); the versioned UPDATE; the activity entry; RELEASE (COMMIT)
    with django_assert_num_queries(6) as captured:
        response = patch(api, task.pk, {"version": 1, "title": "Renamed"})
    assert response.status_code == 200 and response.json()["data"]["title"] == "Renamed"
    task_lookup = captured.captured_queries[2]["sql"]
    assert task_lookup.startswith("SELECT") and "FROM tasks_task" in task_lookup
    assert "ORDER BY" not in task_lookup


def test_put_is_an_alias_of_patch(api, task):
    response = api.put(f"/api/v1/tasks/{task.pk}", {"version": 1, "title": "Via PUT"}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["title"] == "Via PUT"
    assert response.json()["data"]["description"] == "Quarterly numbers"


def test_null_clears_nullable_fields(api, make_task):
    task = make_task(estimated_duration=30, due_date=timezone.now() + timedelta(days=1))
    data = patch(api, task.pk, {"version": 1, "estimated_duration": None, "due_date": None}).json()["data"]
    assert data["estimated_duration"] is None and data["due_date"] is None


@pytest.mark.parametrize(
    "body, field",
    [
        ({"version": "1", "title": "x"}, "version"),
        ({"version": None, "title": "x"}, "version"),
        ({"version": 1, "title": ""}, "title"),
        ({"version": 1, "title": None}, "title"),
        ({"version": 1, "priority": "urgent"}, "priority"),
        ({"version": 1, "user_id": str(uuid.uuid4())}, "user_id"),
        ({"version": 1, "completed_by": "auto"}, "completed_by"),
        ({"version": 1, "rrule": "FREQ=DAILY"}, "scope"),
        ({"version": 1, "scope": "future"}, "rrule"),
        ({"version": 0}, "version"),
    ],
)
def test_patch_validation_errors(api, task, body, field):
    response = patch(api, task.pk, body)
    assert response.status_code == 400
    assert field in {d["field"] for d in response.json()["error"]["details"]}
    task.refresh_from_db()
    assert task.version == 1


def test_stale_version_is_409_conflict_and_changes_nothing(api, task):
    assert patch(api, task.pk, {"version": 1, "title": "first"}).status_code == 200
    response = patch(api, task.pk, {"version": 1, "title": "second"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    task.refresh_from_db()
    assert task.title == "first" and task.version == 2


def test_patch_with_only_version_still_bumps_version(api, task):
    response = patch(api, task.pk, {"version": 1})
    assert response.status_code == 200
    assert response.json()["data"]["version"] == 2


# --- completion -------------------------------------------------------------------------------


def test_complete_and_reopen(api, task, progress_calls):
    response = patch(api, task.pk, {"version": 1, "completed": True})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["completed"] is True
    assert body["data"]["completed_by"] == "manual"
    assert body["data"]["completed_at"] is not None
    assert body["unlocked_achievements"] == [
        {"id": "tasks_5", "name": "Task Starter", "description": "5 tasks", "perk": None}
    ]
    assert progress_calls == [task.pk]

    reopened = patch(api, task.pk, {"version": 2, "completed": False}).json()
    assert reopened["data"]["completed"] is False
    assert reopened["data"]["completed_at"] is None and reopened["data"]["completed_by"] is None
    assert reopened["unlocked_achievements"] == []
    assert reopened["data"]["version"] == 3
    actions = list(ActivityEntry.objects.filter(entity_id=task.pk).values_list("action", flat=True))
    assert {"completed", "reopened"} <= set(actions)


def test_reopen_and_recomplete_counts_progress_once(api, task, progress_calls):
    patch(api, task.pk, {"version": 1, "completed": True})
    patch(api, task.pk, {"version": 2, "completed": False})
    response = patch(api, task.pk, {"version": 3, "completed": True})
    assert response.status_code == 200
    assert response.json()["unlocked_achievements"] == []
    assert progress_calls == [task.pk]
    task.refresh_from_db()
    assert task.completion_counted is True and task.completed


def test_completing_an_already_completed_task_does_not_count(api, make_task, progress_calls):
    task = make_task(completed=True, completed_at=timezone.now(), completed_by="manual", completion_counted=True)
    response = patch(api, task.pk, {"version": 1, "completed": True})
    assert response.status_code == 200
    assert progress_calls == []


def test_completion_calls_the_recurring_hook_for_template_instances(api, user, make_task, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "tasks.services.recurring.template_after_instance_completed", lambda *, task: calls.append(task.pk)
    )
    template = baker.make("tasks.TaskTemplate", user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    instance = make_task(template=template)
    plain = make_task()
    patch(api, instance.pk, {"version": 1, "completed": True})
    patch(api, plain.pk, {"version": 1, "completed": True})
    assert calls == [instance.pk]


def test_due_date_change_recomputes_reminders(api, task, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "tasks.services.reminders.reminders_recompute_for_task", lambda *, task: calls.append(task.due_date)
    )
    due = timezone.now() + timedelta(days=2)
    patch(api, task.pk, {"version": 1, "title": "no due change"})
    patch(api, task.pk, {"version": 2, "due_date": iso(due)})
    assert len(calls) == 1 and abs((calls[0] - due).total_seconds()) < 1


def test_rrule_and_scope_edit_the_template_recurrence(api, user, make_task, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "tasks.services.recurring.template_edit_recurrence_from_instance",
        lambda *, task, rrule, scope: calls.append((task.pk, rrule, scope)),
    )
    template = baker.make("tasks.TaskTemplate", user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    instance = make_task(template=template)
    response = patch(api, instance.pk, {"version": 1, "rrule": "FREQ=WEEKLY;BYDAY=MO", "scope": "future"})
    assert response.status_code == 200
    assert calls == [(instance.pk, "FREQ=WEEKLY;BYDAY=MO", "future")]
    assert response.json()["data"]["version"] == 2


def test_rrule_on_a_task_without_template_is_400(api, task):
    response = patch(api, task.pk, {"version": 1, "rrule": "FREQ=DAILY", "scope": "template"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "rrule"


def test_failed_recurrence_edit_rolls_back_the_patch(api, user, make_task, monkeypatch):
    from perpetua.api.exceptions import Conflict

    def refuse(*, task, rrule, scope):
        raise Conflict("past instance")

    monkeypatch.setattr("tasks.services.recurring.template_edit_recurrence_from_instance", refuse)
    template = baker.make("tasks.TaskTemplate", user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    instance = make_task(template=template)
    response = patch(api, instance.pk, {"version": 1, "title": "new", "rrule": "FREQ=WEEKLY", "scope": "future"})
    assert response.status_code == 409
    instance.refresh_from_db()
    assert instance.title == "A task" and instance.version == 1


# --- archive ---------------------------------------------------------------------------------------


def test_archive_then_only_unarchive_is_accepted(api, task):
    archived = patch(api, task.pk, {"version": 1, "archived": True})
    assert archived.status_code == 200
    assert archived.json()["data"]["archived"] is True
    for body in (
        {"version": 2, "title": "edit"},
        {"version": 2, "completed": True},
        {"version": 2, "archived": False, "title": "edit"},
        {"version": 2, "archived": True},
    ):
        response = patch(api, task.pk, body)
        assert response.status_code == 409, body
        assert response.json()["error"]["code"] == "ARCHIVED"
    unarchived = patch(api, task.pk, {"version": 2, "archived": False})
    assert unarchived.status_code == 200
    assert unarchived.json()["data"]["archived"] is False
    assert unarchived.json()["data"]["version"] == 3


def test_force_completing_an_archived_task_is_409_archived(api, make_task):
    task = make_task(archived=True)
    response = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {"version": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ARCHIVED"


# --- force-complete ----------------------------------------------------------------------------------


def test_force_complete_completes_open_subtasks_with_the_tasks_time(api, task, make_subtask, progress_calls):
    make_subtask(task, 3)
    done_at = timezone.now() - timedelta(hours=1)
    task.subtasks.filter(order_index=0).update(completed=True, completed_at=done_at)
    response = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {"version": 1}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data"}
    assert set(body["data"]) == {"task", "unlocked_achievements", "streak"}
    data = body["data"]["task"]
    assert set(data) == TASK_FIELDS
    assert data["completed"] is True and data["completed_by"] == "force"
    assert data["subtask_count"] == 3 and data["subtask_completed_count"] == 3
    assert data["version"] == 2
    assert body["data"]["streak"] == 3
    assert body["data"]["unlocked_achievements"][0]["id"] == "tasks_5"
    task.refresh_from_db()
    subtasks = list(task.subtasks.order_by("order_index"))
    assert subtasks[0].completed_at == done_at
    assert all(s.completed_at == task.completed_at for s in subtasks[1:])
    assert progress_calls == [task.pk]


def test_force_complete_errors(api, task):
    url = f"/api/v1/tasks/{task.pk}/force-complete"
    assert api.post(url, {"version": "1"}, format="json").status_code == 400
    assert api.post(url, {"version": 1, "color": "red"}, format="json").status_code == 400
    assert api.post(url, {"version": 7}, format="json").json()["error"]["code"] == "CONFLICT"
    assert api.post(f"/api/v1/tasks/{uuid.uuid4()}/force-complete", {"version": 1}, format="json").status_code == 404


def test_force_complete_of_a_completed_task_keeps_its_completion(api, make_task, make_subtask, progress_calls):
    done_at = timezone.now() - timedelta(days=1)
    task = make_task(completed=True, completed_at=done_at, completed_by="manual", completion_counted=True)
    make_subtask(task, 2)
    response = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {"version": 1}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["task"]["completed_by"] == "manual"
    assert data["unlocked_achievements"] == [] and data["streak"] == 0
    assert progress_calls == []
    assert set(task.subtasks.values_list("completed_at", flat=True)) == {done_at}


def test_reopen_and_archive_together_needs_no_room(api, user, make_task):
    done = make_task(completed=True, completed_at=timezone.now(), completed_by="manual")
    baker.make("tasks.Task", user=user, _quantity=50, _bulk_create=True)
    response = patch(api, done.pk, {"version": 1, "completed": False, "archived": True})
    assert response.status_code == 200
    assert response.json()["data"]["completed"] is False and response.json()["data"]["archived"] is True


def test_options_describes_an_endpoint_without_looking_up_objects(api):
    response = api.options(f"/api/v1/tasks/{uuid.uuid4()}/subtasks/reorder")
    assert response.status_code == 200
    assert "PUT" in response["Allow"]
    assert "actions" not in response.json()


def test_an_error_echoing_a_nul_character_is_stored_and_replayed_byte_for_byte(api):
    # The unknown field's name carries \u0000, which jsonb refuses: keys store rendered bytes.
    from perpetua.api.models import IdempotencyKey

    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    body = '{"title": "ok", "a\\u0000b": 1}'
    first = api.generic("POST", "/api/v1/tasks", body, content_type="application/json", **headers)
    second = api.generic("POST", "/api/v1/tasks", body, content_type="application/json", **headers)
    assert first.status_code == second.status_code == 400
    assert first.json()["error"]["details"] == [{"field": "a\x00b", "message": "Unknown field."}]
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.COMPLETE
