from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_create

pytestmark = pytest.mark.django_db


def _make(user, n=1, **fields):
    return [
        notification_create(user=user, type=fields.get("type", "system"), title=f"n{i}", body="b") for i in range(n)
    ]


def test_list_newest_first_with_pagination_and_unread_count(api, user, make_user):
    first, second, third = _make(user, 3)
    _make(make_user(), 2)
    Notification.objects.filter(pk=first.pk).update(read=True, read_at=timezone.now())
    response = api.get("/api/v1/notifications?limit=2")
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(third.id), str(second.id)]
    assert body["pagination"] == {"offset": 0, "limit": 2, "total": 3, "has_more": True}
    assert body["unread_count"] == 2
    row = body["data"][0]
    assert set(row) >= {"id", "type", "title", "body", "action_url", "read", "read_at", "created_at"}
    assert row["created_at"].endswith("Z") and len(row["created_at"]) == 24
    assert row["user_id"] == str(user.id)


def test_notification_carries_the_spa_fields(api, user):
    """SPA.md §13: `message` (= body), `task_id` (req, nullable), `user_id`, `updated_at`."""
    task_id = uuid.uuid4()
    reminder = notification_create(
        user=user, type="reminder", title="Write report", body="Due in 15 minutes.", task_id=task_id
    )
    notification_create(user=user, type="achievement", title="Unlocked", body="")

    rows = {row["type"]: row for row in api.get("/api/v1/notifications").json()["data"]}

    assert rows["reminder"]["message"] == rows["reminder"]["body"] == "Due in 15 minutes."
    assert rows["reminder"]["task_id"] == str(task_id)
    assert rows["reminder"]["user_id"] == str(user.id) and rows["reminder"]["id"] == str(reminder.id)
    assert rows["reminder"]["updated_at"].endswith("Z")
    assert "task_id" in rows["achievement"] and rows["achievement"]["task_id"] is None
    assert rows["achievement"]["message"] == ""
    assert Notification.objects.get(pk=reminder.pk).task_id == task_id


def test_mark_read_needs_no_body(api, user):
    """The SPA sends `Content-Type: application/json` and no body at all."""
    (n,) = _make(user)
    response = api.generic("PATCH", f"/api/v1/notifications/{n.id}/read", "", content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["data"]["read"] is True


def test_list_unread_only(api, user):
    read, unread = _make(user, 2)
    Notification.objects.filter(pk=read.pk).update(read=True, read_at=timezone.now())
    body = api.get("/api/v1/notifications?unread_only=true").json()
    assert [row["id"] for row in body["data"]] == [str(unread.id)]
    assert body["pagination"]["total"] == 1
    assert body["unread_count"] == 1
    assert api.get("/api/v1/notifications?unread_only=false").json()["pagination"]["total"] == 2


@pytest.mark.parametrize(
    "query", ["unread_only=maybe", "unread_only=yes", "unread_only=1", "limit=0", "limit=101", "offset=-1", "limit=abc"]
)
def test_list_bad_query_is_400(api, query):
    response = api.get(f"/api/v1/notifications?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_list_requires_auth(anon_client):
    assert anon_client.get("/api/v1/notifications").status_code == 401


def test_list_query_count_is_constant(api, user, django_assert_num_queries):
    _make(user, 1)
    with django_assert_num_queries(1 + 2):  # + the access-token user lookup
        assert len(api.get("/api/v1/notifications").json()["data"]) == 1
    _make(user, 30)
    with django_assert_num_queries(1 + 2):  # + the access-token user lookup
        assert len(api.get("/api/v1/notifications").json()["data"]) == 25


def test_mark_read(api, user):
    (n,) = _make(user)
    response = api.patch(f"/api/v1/notifications/{n.id}/read")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == str(n.id) and data["read"] is True and data["read_at"].endswith("Z")
    # Idempotent.
    assert api.patch(f"/api/v1/notifications/{n.id}/read").json()["data"]["read_at"] == data["read_at"]


def test_mark_read_other_users_is_403_and_missing_is_404(api, make_user):
    (theirs,) = _make(make_user())
    response = api.patch(f"/api/v1/notifications/{theirs.id}/read")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    theirs.refresh_from_db()
    assert theirs.read is False
    response = api.patch(f"/api/v1/notifications/{uuid.uuid4()}/read")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_read_all(api, user, make_user):
    _make(user, 3)
    (theirs,) = _make(make_user())
    response = api.post("/api/v1/notifications/read-all")
    assert response.status_code == 200
    assert response.json() == {"data": {"marked_count": 3}}
    assert api.post("/api/v1/notifications/read-all").json() == {"data": {"marked_count": 0}}
    assert api.get("/api/v1/notifications").json()["unread_count"] == 0
    theirs.refresh_from_db()
    assert theirs.read is False


def test_delete(api, user, make_user):
    (mine,) = _make(user)
    response = api.delete(f"/api/v1/notifications/{mine.id}")
    assert response.status_code == 200  # with a JSON body, never 204 (the SPA parses every success body)
    assert response.json() == {"data": {"id": str(mine.id), "deleted": True}}
    assert not Notification.objects.filter(pk=mine.pk).exists()
    assert api.delete(f"/api/v1/notifications/{mine.id}").status_code == 404
    (theirs,) = _make(make_user())
    response = api.delete(f"/api/v1/notifications/{theirs.id}")
    assert response.status_code == 403
    assert Notification.objects.filter(pk=theirs.pk).exists()


def test_non_uuid_id_is_404(api):
    response = api.delete("/api/v1/notifications/not-a-uuid")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
