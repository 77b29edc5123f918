"""Subtasks over HTTP: create, update, auto-complete, delete, reorder (CONTRACT §4)."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from recovery.models import ActivityEntry
from tasks.models import Subtask, Task

pytestmark = pytest.mark.django_db

SUBTASK_FIELDS = {
    "id",
    "user_id",
    "task_id",
    "title",
    "completed",
    "completed_at",
    "order_index",
    "source",
    "created_at",
    "updated_at",
}


def indices(task):
    return list(Subtask.objects.filter(task=task).order_by("order_index").values_list("title", "order_index"))


def test_create_appends_at_next_index(api, task):
    url = f"/api/v1/tasks/{task.pk}/subtasks"
    first = api.post(url, {"title": "  one "}, format="json")
    second = api.post(url, {"title": "two"}, format="json")
    assert first.status_code == 201 and second.status_code == 201
    data = second.json()["data"]
    assert set(data) == SUBTASK_FIELDS
    assert data["task_id"] == str(task.pk)
    assert data["order_index"] == 1 and data["source"] == "user" and data["completed"] is False
    assert first.json()["data"]["title"] == "one"
    assert indices(task) == [("one", 0), ("two", 1)]
    task.refresh_from_db()
    assert task.version == 1  # subtask writes do not touch the task's version
    assert ActivityEntry.objects.filter(entity_type="subtask", action="created").count() == 2


@pytest.mark.parametrize("body", [{}, {"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": "a", "x": 1}])
def test_create_validation(api, task, body):
    response = api.post(f"/api/v1/tasks/{task.pk}/subtasks", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(("tier", "limit"), [("free", 4), ("pro", 10)])
def test_subtask_limit_by_tier(make_user, client_for, make_task, make_subtask, tier, limit):
    owner = make_user(tier=tier)
    task = make_task(owner=owner)
    make_subtask(task, limit - 1)
    client = client_for(owner)
    url = f"/api/v1/tasks/{task.pk}/subtasks"
    assert client.post(url, {"title": "last"}, format="json").status_code == 201
    response = client.post(url, {"title": "too many"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert task.subtasks.count() == limit


def test_create_on_archived_or_missing_or_foreign_task(api, make_task, other_user):
    archived = make_task(archived=True)
    response = api.post(f"/api/v1/tasks/{archived.pk}/subtasks", {"title": "x"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "ARCHIVED"
    response = api.post(f"/api/v1/tasks/{uuid.uuid4()}/subtasks", {"title": "x"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "TASK_NOT_FOUND"
    foreign = make_task(owner=other_user)
    response = api.post(f"/api/v1/tasks/{foreign.pk}/subtasks", {"title": "x"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert not foreign.subtasks.exists()


def test_patch_title_and_completion(api, task, make_subtask):
    first, _ = make_subtask(task, 2)
    url = f"/api/v1/subtasks/{first.pk}"
    response = api.patch(url, {"title": "renamed"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "task_completed", "unlocked_achievements"}
    assert body["data"]["title"] == "renamed"
    assert body["task_completed"] is False and body["unlocked_achievements"] == []

    done = api.patch(url, {"completed": True}, format="json").json()
    assert done["data"]["completed"] is True and done["data"]["completed_at"] is not None
    assert done["task_completed"] is False  # another subtask is still open
    undone = api.patch(url, {"completed": False}, format="json").json()
    assert undone["data"]["completed"] is False and undone["data"]["completed_at"] is None


@pytest.mark.parametrize("body", [{"title": ""}, {"completed": "perhaps"}, {"order_index": 3}, {"title": None}])
def test_patch_validation(api, task, make_subtask, body):
    (subtask,) = make_subtask(task)
    response = api.patch(f"/api/v1/subtasks/{subtask.pk}", body, format="json")
    assert response.status_code == 400


def test_completing_last_open_subtask_autocompletes_parent(api, task, make_subtask, progress_calls):
    first, second = make_subtask(task, 2)
    api.patch(f"/api/v1/subtasks/{first.pk}", {"completed": True}, format="json")
    response = api.patch(f"/api/v1/subtasks/{second.pk}", {"completed": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["task_completed"] is True
    assert body["unlocked_achievements"][0]["id"] == "tasks_5"
    task.refresh_from_db()
    assert task.completed and task.completed_by == "auto" and task.completed_at is not None
    assert task.version == 2 and task.completion_counted
    assert progress_calls == [task.pk]
    assert ActivityEntry.objects.filter(entity_id=task.pk, action="completed").exists()


def test_autocomplete_counts_progress_once_after_reopen(api, make_task, make_subtask, progress_calls):
    task = make_task()
    (only,) = make_subtask(task)
    url = f"/api/v1/subtasks/{only.pk}"
    assert api.patch(url, {"completed": True}, format="json").json()["task_completed"] is True
    # Reopen the task, uncheck and re-check the subtask: completes again, counted once.
    assert api.patch(f"/api/v1/tasks/{task.pk}", {"version": 2, "completed": False}, format="json").status_code == 200
    api.patch(url, {"completed": False}, format="json")
    again = api.patch(url, {"completed": True}, format="json").json()
    assert again["task_completed"] is True and again["unlocked_achievements"] == []
    assert progress_calls == [task.pk]
    task.refresh_from_db()
    assert task.version == 4


def test_reopening_a_subtask_leaves_the_completed_parent_alone(api, task, make_subtask):
    (only,) = make_subtask(task)
    api.patch(f"/api/v1/subtasks/{only.pk}", {"completed": True}, format="json")
    response = api.patch(f"/api/v1/subtasks/{only.pk}", {"completed": False}, format="json")
    assert response.json()["task_completed"] is False
    task.refresh_from_db()
    assert task.completed and task.version == 2


def test_subtask_of_already_completed_task_does_not_recomplete(api, make_task, make_subtask, progress_calls):
    task = make_task(completed=True, completed_at=timezone.now(), completed_by="manual", completion_counted=True)
    (only,) = make_subtask(task)
    response = api.patch(f"/api/v1/subtasks/{only.pk}", {"completed": True}, format="json").json()
    assert response["task_completed"] is False
    task.refresh_from_db()
    assert task.completed_by == "manual" and task.version == 1
    assert progress_calls == []


def test_subtask_writes_on_archived_parent_are_409(api, make_task, make_subtask):
    task = make_task(archived=True)
    first, second = make_subtask(task, 2)
    for response in (
        api.patch(f"/api/v1/subtasks/{first.pk}", {"completed": True}, format="json"),
        api.delete(f"/api/v1/subtasks/{first.pk}"),
        api.put(
            f"/api/v1/tasks/{task.pk}/subtasks/reorder", {"subtask_ids": [str(second.pk), str(first.pk)]}, format="json"
        ),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "ARCHIVED"


def test_missing_and_foreign_subtasks(api, make_task, make_subtask, other_user):
    missing = f"/api/v1/subtasks/{uuid.uuid4()}"
    assert api.patch(missing, {"title": "x"}, format="json").json()["error"]["code"] == "NOT_FOUND"
    assert api.delete(missing).status_code == 404
    (foreign,) = make_subtask(make_task(owner=other_user))
    url = f"/api/v1/subtasks/{foreign.pk}"
    for response in (api.patch(url, {"title": "mine"}, format="json"), api.delete(url)):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
    foreign.refresh_from_db()
    assert foreign.title.startswith("Step")


def test_delete_repacks_indices(api, task, make_subtask):
    subtasks = make_subtask(task, 4)
    response = api.delete(f"/api/v1/subtasks/{subtasks[1].pk}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": str(subtasks[1].pk), "deleted": True}}
    assert indices(task) == [("Step 0", 0), ("Step 2", 1), ("Step 3", 2)]
    api.delete(f"/api/v1/subtasks/{subtasks[0].pk}")
    assert indices(task) == [("Step 2", 0), ("Step 3", 1)]
    created = api.post(f"/api/v1/tasks/{task.pk}/subtasks", {"title": "new"}, format="json").json()["data"]
    assert created["order_index"] == 2


def test_reorder_sets_indices_in_the_given_order(api, task, make_subtask):
    a, b, c = make_subtask(task, 3)
    url = f"/api/v1/tasks/{task.pk}/subtasks/reorder"
    response = api.put(url, {"subtask_ids": [str(c.pk), str(a.pk), str(b.pk)]}, format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert [s["id"] for s in data] == [str(c.pk), str(a.pk), str(b.pk)]
    assert [s["order_index"] for s in data] == [0, 1, 2]
    assert indices(task) == [("Step 2", 0), ("Step 0", 1), ("Step 1", 2)]


def test_reorder_of_a_task_without_subtasks(api, task):
    response = api.put(f"/api/v1/tasks/{task.pk}/subtasks/reorder", {"subtask_ids": []}, format="json")
    assert response.status_code == 200 and response.json()["data"] == []


def test_reorder_must_be_an_exact_permutation(api, task, make_task, make_subtask):
    a, b, c = make_subtask(task, 3)
    (elsewhere,) = make_subtask(make_task(title="my other task"))
    url = f"/api/v1/tasks/{task.pk}/subtasks/reorder"
    bad_bodies = [
        {"subtask_ids": [str(a.pk), str(b.pk)]},  # missing one
        {"subtask_ids": [str(a.pk), str(b.pk), str(c.pk), str(a.pk)]},  # duplicate
        {"subtask_ids": [str(a.pk), str(b.pk), str(c.pk), str(uuid.uuid4())]},  # unknown id
        {"subtask_ids": [str(a.pk), str(b.pk), str(elsewhere.pk)]},  # my own subtask, other task
        {"subtask_ids": ["not-a-uuid"]},
        {"subtask_ids": "abc"},
        {},
    ]
    for body in bad_bodies:
        response = api.put(url, body, format="json")
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert indices(task) == [("Step 0", 0), ("Step 1", 1), ("Step 2", 2)]


def test_reorder_with_another_users_subtask_id_is_403(api, task, make_task, make_subtask, other_user):
    a, b = make_subtask(task, 2)
    (foreign,) = make_subtask(make_task(owner=other_user))
    url = f"/api/v1/tasks/{task.pk}/subtasks/reorder"
    response = api.put(url, {"subtask_ids": [str(b.pk), str(a.pk), str(foreign.pk)]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    # Replacing one of mine by the foreign id is 403 as well, not 400.
    response = api.put(url, {"subtask_ids": [str(b.pk), str(foreign.pk)]}, format="json")
    assert response.status_code == 403


def test_reorder_of_another_users_task_is_403(api, make_task, make_subtask, other_user):
    foreign_task = make_task(owner=other_user)
    (s,) = make_subtask(foreign_task)
    response = api.put(f"/api/v1/tasks/{foreign_task.pk}/subtasks/reorder", {"subtask_ids": [str(s.pk)]}, format="json")
    assert response.status_code == 403
    response = api.put(f"/api/v1/tasks/{uuid.uuid4()}/subtasks/reorder", {"subtask_ids": []}, format="json")
    assert response.status_code == 404


def test_indices_stay_gapless_through_a_sequence(api, task):
    url = f"/api/v1/tasks/{task.pk}/subtasks"
    ids = [api.post(url, {"title": f"s{i}"}, format="json").json()["data"]["id"] for i in range(4)]
    api.delete(f"/api/v1/subtasks/{ids[2]}")
    api.put(f"{url}/reorder", {"subtask_ids": [ids[3], ids[1], ids[0]]}, format="json")
    api.post(url, {"title": "s4"}, format="json")
    api.delete(f"/api/v1/subtasks/{ids[3]}")
    assert indices(task) == [("s1", 0), ("s0", 1), ("s4", 2)]


def test_subtask_create_many_respects_the_limit_all_or_nothing(user, task, make_subtask):
    from perpetua.api.exceptions import LimitExceeded
    from tasks.services.subtasks import subtask_create_many

    make_subtask(task, 2)
    with pytest.raises(LimitExceeded):
        subtask_create_many(user=user, task_id=task.pk, titles=["a", "b", "c"], source="ai")
    assert task.subtasks.count() == 2
    created = subtask_create_many(user=user, task_id=task.pk, titles=["a", "b"], source="ai")
    assert [(s.order_index, s.source) for s in created] == [(2, "ai"), (3, "ai")]
    assert Task.objects.get(pk=task.pk).version == 1


def test_complete_route_takes_no_body_fields(api, task, make_subtask):
    (subtask,) = make_subtask(task, 1)
    response = api.post(f"/api/v1/subtasks/{subtask.pk}/complete", {"title": "renamed"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "title"
    subtask.refresh_from_db()
    assert subtask.completed is False and subtask.title == "Step 0"
