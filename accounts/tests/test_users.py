"""GET/PATCH/DELETE /users/me and the export (CONTRACT §2)."""

from __future__ import annotations

import pytest
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import RefreshToken, User
from accounts.services import session_start
from accounts.tests.conftest import bearer

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def test_get_me_returns_the_user_object(api, user):
    user.name = "Grace"
    user.save()

    response = api.get(ME)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {
        "id": str(user.pk),
        "google_id": "",
        "email": user.email,
        "name": user.name,
        "avatar_url": None,  # none stored: null, not ""
        "timezone": "UTC",
        "tier": "free",
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    }
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == len("2026-01-19T10:30:00.000Z")


def test_get_me_never_sends_an_empty_name(make_user, client_for):
    """The SPA validates name 1-100 on every page and signs the user out when it fails (SPA.md §3)."""
    nameless = make_user(email="ada.lovelace@example.com", name="")
    long_local = make_user(email=f"{'a' * 120}@example.com", name="")

    assert client_for(nameless).get(ME).json()["data"]["name"] == "ada.lovelace"
    assert client_for(long_local).get(ME).json()["data"]["name"] == "a" * 100


def test_google_id_is_the_google_sub_or_empty(make_user, client_for):
    linked = make_user(google_sub="google-sub-42")
    local = make_user(google_sub=None)

    assert client_for(linked).get(ME).json()["data"]["google_id"] == "google-sub-42"
    assert client_for(local).get(ME).json()["data"]["google_id"] == ""


def test_patch_updates_name_and_timezone(api, user):
    response = api.patch(ME, {"name": "  Grace Hopper ", "timezone": "Europe/Paris"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["name"] == "Grace Hopper"
    assert response.json()["data"]["timezone"] == "Europe/Paris"
    user.refresh_from_db()
    assert (user.name, user.timezone) == ("Grace Hopper", "Europe/Paris")


def test_patch_omitted_fields_are_unchanged(api, user):
    user.name = "Grace"
    user.save()

    response = api.patch(ME, {"timezone": "America/New_York"}, format="json")

    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Grace"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": "Factory"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": None}, "name"),
        ({"tier": "pro"}, "tier"),
        ({"email": "new@example.com"}, "email"),
    ],
)
def test_patch_rejects_invalid_values_and_unknown_fields(api, user, body, field):
    response = api.patch(ME, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [detail["field"] for detail in error["details"]] == [field]
    user.refresh_from_db()
    assert user.tier == "free" and user.timezone == "UTC"


def test_me_requires_authentication(anon_client):
    for method in ("get", "patch", "delete"):
        response = getattr(anon_client, method)(ME)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_export_contains_the_users_rows_and_nobody_elses(user, make_user):
    other = make_user()
    session_start(user=user)
    session_start(user=other)
    task = baker.make("tasks.Task", user=user, title="Mine", estimated_duration=None)
    subtask = baker.make("tasks.Subtask", task=task, title="Step", order_index=0)
    other_task = baker.make("tasks.Task", user=other, title="Theirs", estimated_duration=None)
    baker.make("tasks.Subtask", task=other_task, title="Their step", order_index=0)
    client = bearer(session_start(user=user).access_token)

    response = client.get(f"{ME}/export")

    assert response.status_code == 200
    document = response.json()["data"]
    assert document["user_id"] == str(user.pk)
    models = document["models"]
    assert [row["id"] for row in models["accounts.User"]] == [str(user.pk)]
    assert "password" not in models["accounts.User"][0]
    assert [row["id"] for row in models["tasks.Task"]] == [str(task.pk)]
    assert models["tasks.Task"][0]["title"] == "Mine"
    assert models["tasks.Task"][0]["user_id"] == str(user.pk)
    assert models["tasks.Task"][0]["created_at"].endswith("Z")
    assert [row["id"] for row in models["tasks.Subtask"]] == [str(subtask.pk)]
    assert models["tasks.Subtask"][0]["task_id"] == str(task.pk)
    tokens = models["accounts.RefreshToken"]
    assert len(tokens) == 2
    assert all("token_hash" not in row for row in tokens)
    assert all(row["user_id"] == str(user.pk) for row in tokens)
    assert str(other.pk) not in response.content.decode()


def test_export_uses_a_constant_number_of_queries(user, django_assert_max_num_queries):
    client = bearer(session_start(user=user).access_token)
    client.get(f"{ME}/export")  # warm the per-process plan

    with django_assert_max_num_queries(50) as few:
        client.get(f"{ME}/export")
    baseline = len(few.captured_queries)
    for _ in range(5):
        task = baker.make("tasks.Task", user=user, title="t", estimated_duration=None)
        baker.make("tasks.Subtask", task=task, title="s", order_index=0)
        session_start(user=user)

    with django_assert_max_num_queries(baseline):
        response = client.get(f"{ME}/export")
    assert len(response.json()["data"]["models"]["tasks.Task"]) == 5


def test_delete_me_removes_the_account_its_data_and_its_sessions(user, make_user):
    other = make_user()
    session = session_start(user=user)
    baker.make("tasks.Task", user=user, title="Mine", estimated_duration=None)
    baker.make("tasks.Task", user=other, title="Theirs", estimated_duration=None)
    client = bearer(session.access_token)

    response = client.delete(ME)

    assert response.status_code == 200
    assert response.json() == {"data": {"deleted": True}}
    assert not User.objects.filter(pk=user.pk).exists()
    assert not RefreshToken.objects.filter(user_id=user.pk).exists()
    assert list(User.objects.values_list("pk", flat=True)) == [other.pk]
    from tasks.models import Task

    assert list(Task.objects.values_list("title", flat=True)) == ["Theirs"]
    assert client.get(ME).status_code == 401
    refresh = APIClient().post("/api/v1/auth/refresh", {"refresh_token": session.refresh_token}, format="json")
    assert refresh.status_code == 401
    assert refresh.json()["error"]["code"] == "INVALID_REFRESH_TOKEN"


@pytest.mark.parametrize(
    "body",
    [{"name": 123}, {"name": 1.5}, {"name": True}, {"name": ["Grace"]}, {"timezone": 0}, {"timezone": ["UTC"]}],
)
def test_patch_takes_strings_only_never_a_number_made_into_one(api, user, body):
    """Issue 9: `name: 123` was stored as "123"."""
    before = user.name
    response = api.patch(ME, body, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [{"field": next(iter(body)), "message": "Must be a string."}]
    user.refresh_from_db()
    assert user.name == before and user.timezone == "UTC"
