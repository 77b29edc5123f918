"""The full HTTP round trip: DELETE /tasks/{id} → GET /tombstones → recover → GET /tasks/{id}."""

from __future__ import annotations

import pytest

from recovery.models import Tombstone
from recovery.tests.test_task_roundtrip import make_task, snapshot
from tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/tombstones/{id}/recover", "/api/v1/tasks/recover/{id}"])
@pytest.mark.parametrize("completed", [False, True])
def test_delete_and_recover_over_http_gives_back_the_same_task(api, user, path, completed):
    task = make_task(user, completed=completed)
    before_rows = snapshot(task)
    before = api.get(f"/api/v1/tasks/{task.pk}").json()
    assert len(before["data"]["subtasks"]) == 3 and len(before["data"]["reminders"]) == 2

    deleted = api.delete(f"/api/v1/tasks/{task.pk}")
    assert deleted.status_code == 200
    tombstone_id = deleted.json()["data"]["tombstone_id"]
    assert deleted.json()["data"]["recoverable_until"].endswith("Z")
    assert api.get(f"/api/v1/tasks/{task.pk}").status_code == 404
    listed = api.get("/api/v1/tombstones").json()["data"]
    assert [row["id"] for row in listed] == [tombstone_id]
    assert listed[0]["recoverable_until"] == deleted.json()["data"]["recoverable_until"]

    recovered = api.post(path.format(id=tombstone_id))

    assert recovered.status_code == 200
    assert recovered.json() == before
    assert api.get(f"/api/v1/tasks/{task.pk}").json() == before
    assert snapshot(task) == before_rows
    assert not Tombstone.objects.filter(pk=tombstone_id).exists()


def test_recover_over_http_when_the_id_is_taken_is_409(api, user):
    task = make_task(user)
    tombstone_id = api.delete(f"/api/v1/tasks/{task.pk}").json()["data"]["tombstone_id"]
    Task.objects.create(id=task.pk, user=user, title="squatter")
    response = api.post(f"/api/v1/tasks/recover/{tombstone_id}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert Tombstone.objects.filter(pk=tombstone_id).exists()


def test_fourth_delete_over_http_drops_the_oldest_tombstone(api, user):
    tasks = [make_task(user) for _ in range(4)]
    ids = [api.delete(f"/api/v1/tasks/{t.pk}").json()["data"]["tombstone_id"] for t in tasks]
    listed = [row["id"] for row in api.get("/api/v1/tombstones").json()["data"]]
    assert listed == list(reversed(ids[1:]))
    assert api.post(f"/api/v1/tasks/recover/{ids[0]}").status_code == 404


def test_other_user_cannot_recover_my_deleted_task(client_for, api, user, make_user):
    task = make_task(user)
    tombstone_id = api.delete(f"/api/v1/tasks/{task.pk}").json()["data"]["tombstone_id"]
    intruder = client_for(make_user())
    assert intruder.get("/api/v1/tombstones").json()["data"] == []
    response = intruder.post(f"/api/v1/tombstones/{tombstone_id}/recover")
    assert response.status_code == 403
    assert intruder.get(f"/api/v1/activity?entity_id={task.pk}").status_code == 403
    assert Tombstone.objects.filter(pk=tombstone_id).exists()
