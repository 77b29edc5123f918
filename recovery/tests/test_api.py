from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from perpetua.api.exceptions import Conflict
from perpetua.api.request_id import reset_request_id, set_request_id
from recovery.models import ActivityEntry, Tombstone
from recovery.services import activity_record, tombstone_create

pytestmark = pytest.mark.django_db


def _tomb(user, title="t", entity_type="task"):
    return tombstone_create(user=user, entity_type=entity_type, entity_id=uuid.uuid4(), payload={"title": title})


# --- GET /tombstones ---------------------------------------------------------------


def test_tombstones_list_newest_first(api, user, make_user):
    first, second = _tomb(user, "first"), _tomb(user, "second")
    _tomb(make_user())
    response = api.get("/api/v1/tombstones")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(second.id), str(first.id)]
    assert body["pagination"] == {"offset": 0, "limit": 25, "total": 2, "has_more": False}
    row = body["data"][0]
    assert row["title"] == "second"
    assert row["entity_type"] == "task"
    assert row["entity_id"] == str(second.entity_id)
    assert row["created_at"].endswith("Z") and row["recoverable_until"].endswith("Z")


def test_tombstones_list_reads_nested_title_and_hides_expired(api, user):
    nested = tombstone_create(user=user, entity_type="task", entity_id=uuid.uuid4(), payload={"task": {"title": "x"}})
    expired = _tomb(user)
    Tombstone.objects.filter(pk=expired.pk).update(recoverable_until=timezone.now() - timedelta(seconds=1))
    data = api.get("/api/v1/tombstones").json()["data"]
    assert [(row["id"], row["title"]) for row in data] == [(str(nested.id), "x")]


def test_tombstones_list_keeps_three(api, user):
    tombs = [_tomb(user, str(i)) for i in range(5)]
    data = api.get("/api/v1/tombstones").json()["data"]
    assert [row["id"] for row in data] == [str(t.id) for t in reversed(tombs[2:])]


def test_tombstones_list_query_count_is_constant(api, user, django_assert_num_queries):
    _tomb(user)
    with django_assert_num_queries(1 + 1):  # token user + page with its total
        assert len(api.get("/api/v1/tombstones").json()["data"]) == 1
    _tomb(user)
    _tomb(user)
    with django_assert_num_queries(1 + 1):  # token user + page with its total
        assert len(api.get("/api/v1/tombstones").json()["data"]) == 3


def test_tombstones_list_bad_limit_is_400(api):
    assert api.get("/api/v1/tombstones?limit=0").status_code == 400


def test_tombstones_requires_auth(anon_client):
    assert anon_client.get("/api/v1/tombstones").status_code == 401


# --- POST /tombstones/{id}/recover (error paths; task round trip in test_task_roundtrip) ---


@pytest.mark.parametrize("path", ["/api/v1/tombstones/{id}/recover", "/api/v1/tasks/recover/{id}"])
def test_recover_missing_is_404(api, path):
    response = api.post(path.format(id=uuid.uuid4()))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path", ["/api/v1/tombstones/{id}/recover", "/api/v1/tasks/recover/{id}"])
def test_recover_other_users_is_403(api, make_user, path):
    tomb = _tomb(make_user())
    response = api.post(path.format(id=tomb.id))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert Tombstone.objects.filter(pk=tomb.pk).exists()


def test_recover_expired_is_404(api, user):
    tomb = _tomb(user)
    Tombstone.objects.filter(pk=tomb.pk).update(recoverable_until=timezone.now() - timedelta(seconds=1))
    assert api.post(f"/api/v1/tombstones/{tomb.id}/recover").status_code == 404


def test_recover_conflict_is_409_and_changes_nothing(api, user, monkeypatch):
    tomb = _tomb(user)

    def taken(**kwargs):
        raise Conflict("A task with this id already exists.")

    monkeypatch.setattr("recovery.services._restore", lambda **kwargs: taken(**kwargs))
    response = api.post(f"/api/v1/tombstones/{tomb.id}/recover")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert Tombstone.objects.filter(pk=tomb.pk).exists()
    assert not ActivityEntry.objects.filter(action="recovered").exists()


def test_recover_unsupported_type_is_409(api, user):
    tomb = _tomb(user, entity_type="widget")
    response = api.post(f"/api/v1/tombstones/{tomb.id}/recover")
    assert response.status_code == 409
    assert "widget" in response.json()["error"]["message"]


# --- GET /activity -----------------------------------------------------------------


def _entry(user, *, entity_type="task", entity_id=None, action="created", age_minutes=0, **fields):
    entry = ActivityEntry.objects.create(
        user=user, entity_type=entity_type, entity_id=entity_id or uuid.uuid4(), action=action, **fields
    )
    if age_minutes:
        ActivityEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(minutes=age_minutes))
    return entry


def test_activity_list_newest_first_with_fields(api, user, make_user):
    old = _entry(user, age_minutes=5)
    request_id = str(uuid.uuid4())
    new = _entry(user, action="updated", source="ai", metadata={"fields": ["title"]}, request_id=request_id)
    _entry(make_user())
    response = api.get("/api/v1/activity")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(new.id), str(old.id)]
    assert body["pagination"]["total"] == 2
    row = body["data"][0]
    assert row == {
        "id": str(new.id),
        "user_id": str(user.id),
        "entity_type": "task",
        "entity_id": str(new.entity_id),
        "action": "updated",
        "source": "ai",
        "metadata": {"fields": ["title"]},
        "extra_data": {"fields": ["title"]},  # the SPA's name (SPA.md §10)
        "request_id": request_id,
        "created_at": row["created_at"],
    }
    assert row["created_at"].endswith("Z")


def test_activity_records_the_request_id_of_the_request(client_for, user):
    # A view-less check: the middleware's id reaches entries written during a request.
    request_id = str(uuid.uuid4())
    token = set_request_id(request_id)
    try:
        activity_record(user=user, entity_type="task", entity_id=uuid.uuid4(), action="created")
    finally:
        reset_request_id(token)
    assert client_for(user).get("/api/v1/activity").json()["data"][0]["request_id"] == request_id


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("req-xyz", None),  # an incoming X-Request-ID may be any token: the SPA accepts only a UUID or null
        ("0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("0f8fad5bd9cb469fa16570867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"),  # undashed rows of old
        ("00000000-0000-0000-0000-000000000001", None),  # UUID-shaped, but no version: the SPA refuses it
        (None, None),
    ],
)
def test_activity_request_id_is_a_dashed_uuid_or_null(api, user, stored, shown):
    _entry(user, request_id=stored)
    row = api.get("/api/v1/activity").json()["data"][0]
    assert "request_id" in row and row["request_id"] == shown


def test_activity_written_during_a_request_carries_the_dashed_request_id(api, user):
    response = api.post("/api/v1/tasks", {"title": "Logged"}, format="json")
    assert response.status_code == 201, response.content
    generated = response["X-Request-ID"]
    assert str(uuid.UUID(generated)) == generated  # generated ids are canonical dashed UUIDs
    rows = api.get(f"/api/v1/activity?entity_id={response.json()['data']['id']}").json()["data"]
    assert rows and {row["request_id"] for row in rows} == {generated}


def test_users_own_activity_is_activity(api, user, make_user):
    task_id = uuid.uuid4()
    mine = _entry(user, entity_id=task_id)
    _entry(user, entity_type="note")
    _entry(make_user(), entity_id=task_id)

    everything = api.get(f"/api/v1/users/{user.pk}/activity")
    filtered = api.get(f"/api/v1/users/{user.pk}/activity?entity_id={task_id}&limit=50")

    assert everything.status_code == 200
    assert everything.json() == api.get("/api/v1/activity").json()
    assert [row["id"] for row in filtered.json()["data"]] == [str(mine.id)]
    assert filtered.json()["pagination"]["limit"] == 50


def test_users_activity_of_another_id_is_forbidden(api, make_user):
    other = make_user()
    _entry(other)
    for user_id in (other.pk, uuid.uuid4()):  # another user, or nobody
        response = api.get(f"/api/v1/users/{user_id}/activity")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"


def test_activity_filters(api, user):
    task_id = uuid.uuid4()
    a = _entry(user, entity_id=task_id, age_minutes=2)
    b = _entry(user, entity_id=task_id, action="updated", age_minutes=1)
    note = _entry(user, entity_type="note")
    _entry(user, entity_type="subtask")
    data = api.get(f"/api/v1/activity?entity_id={task_id}").json()["data"]
    assert [row["id"] for row in data] == [str(b.id), str(a.id)]
    data = api.get("/api/v1/activity?entity_type=note").json()["data"]
    assert [row["id"] for row in data] == [str(note.id)]
    data = api.get(f"/api/v1/activity?entity_type=note&entity_id={task_id}").json()["data"]
    assert data == []
    assert api.get(f"/api/v1/activity?entity_id={uuid.uuid4()}").json()["data"] == []


def test_activity_pagination(api, user):
    entries = [_entry(user, age_minutes=10 - i) for i in range(5)]
    body = api.get("/api/v1/activity?limit=2&offset=2").json()
    assert [row["id"] for row in body["data"]] == [str(entries[2].id), str(entries[1].id)]
    assert body["pagination"] == {"offset": 2, "limit": 2, "total": 5, "has_more": True}
    body = api.get("/api/v1/activity?limit=2&offset=4").json()
    assert body["pagination"]["has_more"] is False and len(body["data"]) == 1


@pytest.mark.parametrize("query", ["entity_id=nope", "entity_type=" + "x" * 33, "limit=500", "offset=x"])
def test_activity_bad_query_is_400(api, query):
    response = api.get(f"/api/v1/activity?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_activity_bad_entity_id_names_the_field(api):
    details = api.get("/api/v1/activity?entity_id=nope").json()["error"]["details"]
    assert details[0]["field"] == "entity_id"


def test_activity_filter_on_other_users_entity_is_403(api, user, make_user):
    theirs = _entry(make_user())
    response = api.get(f"/api/v1/activity?entity_id={theirs.entity_id}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_activity_list_query_count_is_constant(api, user, django_assert_num_queries):
    _entry(user)
    with django_assert_num_queries(1 + 1):  # token user + page with its total
        assert len(api.get("/api/v1/activity").json()["data"]) == 1
    for _ in range(30):
        _entry(user)
    with django_assert_num_queries(1 + 1):  # token user + page with its total
        assert len(api.get("/api/v1/activity").json()["data"]) == 25
    task_id = uuid.uuid4()
    for _ in range(3):
        _entry(user, entity_id=task_id)
    with django_assert_num_queries(1 + 2):  # token user + ownership check + page with its total
        assert len(api.get(f"/api/v1/activity?entity_id={task_id}").json()["data"]) == 3
