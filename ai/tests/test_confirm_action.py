"""POST /ai/confirm-action (CONTRACT §8): the only write an AI suggestion can cause, validated
as the plain endpoints validate."""

from __future__ import annotations

import uuid

import pytest
from model_bakery import baker

from gamification.selectors import progress_for_user
from notes.models import Note
from recovery.models import ActivityEntry
from tasks.models import Subtask, Task

pytestmark = pytest.mark.django_db

CONFIRM = "/api/v1/ai/confirm-action"


def _confirm(ai_post, client, action_type, action_data):
    return ai_post(client, CONFIRM, {"action_type": action_type, "action_data": action_data})


def test_complete_task_completes_it_logged_as_ai(api, user, make_task, ai_post):
    task = make_task()
    response = _confirm(ai_post, api, "complete_task", {"task_id": str(task.pk)})
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["action_type"] == "complete_task"
    assert body["data"]["task"]["completed"] is True and body["data"]["task"]["version"] == 2
    assert body["unlocked_achievements"] == []
    assert ActivityEntry.objects.get(entity_id=task.pk, action="completed").source == "ai"


def test_complete_task_refuses_another_users_task_and_a_stale_version(api, user, make_user, make_task, ai_post):
    theirs = make_task(owner=make_user())
    response = _confirm(ai_post, api, "complete_task", {"task_id": str(theirs.pk)})
    assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    theirs.refresh_from_db()
    assert theirs.completed is False
    mine = make_task(version=3)
    stale = _confirm(ai_post, api, "complete_task", {"task_id": str(mine.pk), "version": 2})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "CONFLICT"
    mine.refresh_from_db()
    assert (mine.completed, mine.version) == (False, 3)


def test_update_task_with_and_without_version(api, user, make_task, ai_post):
    task = make_task(title="Old")
    stale = _confirm(ai_post, api, "update_task", {"task_id": str(task.pk), "version": 9, "title": "New"})
    assert stale.status_code == 409
    ok = _confirm(
        ai_post, api, "update_task", {"task_id": str(task.pk), "version": 1, "title": "New", "priority": "high"}
    )
    assert ok.status_code == 200 and ok.json()["data"]["task"]["title"] == "New"
    versionless = _confirm(ai_post, api, "update_task", {"task_id": str(task.pk), "estimated_duration": 30})
    assert versionless.status_code == 200 and versionless.json()["data"]["task"]["version"] == 3
    task.refresh_from_db()
    assert (task.title, task.priority, task.estimated_duration) == ("New", "high", 30)
    assert set(ActivityEntry.objects.filter(entity_id=task.pk).values_list("source", flat=True)) == {"ai"}


@pytest.mark.parametrize(
    "data",
    [{"title": ""}, {"priority": "urgent"}, {"completed": True}, {"estimated_duration": 0}, {"hidden": True}],
)
def test_update_task_validates_like_patch(data, api, user, make_task, ai_post):
    task = make_task()
    response = _confirm(ai_post, api, "update_task", {"task_id": str(task.pk), **data})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"].startswith("action_data.")
    task.refresh_from_db()
    assert task.version == 1


def test_create_subtasks_have_source_ai_and_respect_the_limit(api, user, make_task, ai_post):
    task = make_task()
    response = _confirm(
        ai_post, api, "create_subtasks", {"task_id": str(task.pk), "subtasks": [{"title": "A"}, {"title": "B"}]}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["task_id"] == str(task.pk)
    assert [(s["title"], s["source"], s["order_index"]) for s in data["subtasks"]] == [("A", "ai", 0), ("B", "ai", 1)]
    three = [{"title": "C"}, {"title": "D"}, {"title": "E"}]
    too_many = _confirm(ai_post, api, "create_subtasks", {"task_id": str(task.pk), "subtasks": three})
    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert Subtask.objects.filter(task=task).count() == 2


def test_create_task_from_a_note_archives_it_and_counts_the_conversion(api, user, ai_post):
    note = baker.make(Note, user=user, content="Buy milk")
    before = progress_for_user(user=user).notes_converted
    response = _confirm(ai_post, api, "create_task", {"title": "Buy milk", "priority": "low", "note_id": str(note.pk)})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["task"]["title"] == "Buy milk" and data["note"]["archived"] is True
    note.refresh_from_db()
    assert note.archived is True
    assert progress_for_user(user=user).notes_converted == before + 1
    assert ActivityEntry.objects.get(entity_id=note.pk, action="converted").source == "ai"
    again = _confirm(ai_post, api, "create_task", {"title": "Buy milk", "note_id": str(note.pk)})
    assert again.status_code == 409
    assert Task.objects.filter(user=user).count() == 1
    assert progress_for_user(user=user).notes_converted == before + 1


def test_create_task_refuses_another_users_note_and_changes_nothing(api, user, make_user, ai_post):
    note = baker.make(Note, user=make_user(), content="theirs")
    response = _confirm(ai_post, api, "create_task", {"title": "Steal", "note_id": str(note.pk)})
    assert response.status_code == 403
    assert not Task.objects.filter(user=user).exists()
    note.refresh_from_db()
    assert note.archived is False


def test_create_task_respects_the_active_task_limit(api, user, make_task, ai_post, settings):
    settings.FREE_MAX_TASKS = 1
    make_task()
    response = _confirm(ai_post, api, "create_task", {"title": "One more"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    "body",
    [
        {"action_type": "delete_task", "action_data": {}},
        {"action_type": "complete_task", "action_data": {"task_id": "x"}},
        {"action_type": "complete_task", "action_data": {"task_id": str(uuid.uuid4()), "version": "2"}},
        {"action_type": "create_subtasks", "action_data": {"task_id": str(uuid.uuid4()), "subtasks": []}},
        {"action_type": "complete_task"},
    ],
)
def test_malformed_actions_are_400(body, api, ai_post):
    assert ai_post(api, CONFIRM, body).status_code == 400


def test_confirm_action_needs_an_idempotency_key(api, make_task):
    task = make_task()
    body = {"action_type": "complete_task", "action_data": {"task_id": str(task.pk)}}
    assert api.post(CONFIRM, body, format="json").status_code == 400
