"""Achievements through the real HTTP API (CONTRACT §3, §4, §11, §14)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from model_bakery import baker

from gamification.models import AchievementDefinition, UserAchievement, UserProgress
from notifications.models import Notification

pytestmark = pytest.mark.django_db

TASKS_5 = {
    "id": "tasks_5",
    "achievement_id": "tasks_5",
    "name": "Task Starter",
    "achievement_name": "Task Starter",
    "description": "Complete 5 tasks. Perk: room for 15 more active tasks.",
    "perk": {"type": "max_tasks", "value": 15},
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _timeless(unlocks: list[dict]) -> list[dict]:
    """Unlock objects without `unlocked_at`, after checking it is the contract's timestamp."""
    assert all(TIMESTAMP.match(unlock["unlocked_at"]) for unlock in unlocks), unlocks
    return [{key: value for key, value in unlock.items() if key != "unlocked_at"} for unlock in unlocks]


def _progress(user) -> UserProgress:
    return UserProgress.objects.get(user=user)


# --- unlock through completions ------------------------------------------------------------------


def test_fifth_completion_unlocks_tasks_5_inline_in_me_with_a_notification_and_more_room(
    api, user, make_task, complete
):
    to_complete = [make_task(title=f"done {i}") for i in range(5)]
    baker.make("tasks.Task", user=user, title="open", _quantity=50)  # 55 active: over the free 50
    assert api.post("/api/v1/tasks", {"title": "blocked"}, format="json").status_code == 409

    for task in to_complete[:4]:
        assert complete(task).json()["unlocked_achievements"] == []
    body = complete(to_complete[4]).json()
    assert body["data"]["completed"] is True
    assert _timeless(body["unlocked_achievements"]) == [TASKS_5]

    me = api.get("/api/v1/achievements/me").json()["data"]
    assert me["unlocked"] == ["tasks_5"]
    assert me["unlocked_achievements"] == body["unlocked_achievements"]
    assert me["stats"]["lifetime_tasks_completed"] == 5
    assert me["effective_limits"]["max_tasks"] == 65

    notification = Notification.objects.get(user=user)
    assert notification.type == "achievement" and "Task Starter" in notification.title
    listed = api.get("/api/v1/notifications").json()["data"]
    assert [n["type"] for n in listed] == ["achievement"]

    # 50 active now; the free base alone would refuse the 51st, the perk admits it.
    created = api.post("/api/v1/tasks", {"title": "the 51st"}, format="json")
    assert created.status_code == 201, created.content


def test_reopen_and_recomplete_is_not_counted_twice(api, user, make_task, complete):
    task = make_task()
    complete(task)
    task.refresh_from_db()
    reopened = api.patch(f"/api/v1/tasks/{task.pk}", {"completed": False, "version": task.version}, format="json")
    assert reopened.status_code == 200
    body = complete(task).json()
    assert body["unlocked_achievements"] == []
    assert _progress(user).lifetime_tasks_completed == 1


def test_recovered_task_is_not_counted(api, user, make_task, complete, clock):
    clock.set(2026, 3, 1, 9, 0)
    task = make_task()
    complete(task)
    before = UserProgress.objects.filter(user=user).values().get()
    deleted = api.delete(f"/api/v1/tasks/{task.pk}")
    assert deleted.status_code == 200, deleted.content
    clock.set(2026, 3, 2, 9, 0)
    recovered = api.post(f"/api/v1/tombstones/{deleted.json()['data']['tombstone_id']}/recover")
    assert recovered.status_code in (200, 201), recovered.content
    after = UserProgress.objects.filter(user=user).values().get()
    assert after == before  # count, streak, last date and updated_at untouched
    assert not UserAchievement.objects.filter(user=user).exists()


def test_recovered_completed_task_reopened_and_recompleted_is_not_counted(api, user, make_task, complete):
    task = make_task()
    complete(task)
    tombstone_id = api.delete(f"/api/v1/tasks/{task.pk}").json()["data"]["tombstone_id"]
    assert api.post(f"/api/v1/tombstones/{tombstone_id}/recover").status_code in (200, 201)
    task.refresh_from_db()
    api.patch(f"/api/v1/tasks/{task.pk}", {"completed": False, "version": task.version}, format="json")
    complete(task)
    assert _progress(user).lifetime_tasks_completed == 1


def test_force_complete_counts_and_returns_unlocks_and_streak(api, user, make_task, clock):
    UserProgress.objects.update_or_create(user=user, defaults={"lifetime_tasks_completed": 4})
    clock.set(2026, 3, 1, 12, 0)
    task = make_task()
    response = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {"version": task.version}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["task"]["completed_by"] == "force"
    assert _timeless(data["unlocked_achievements"]) == [TASKS_5]
    assert data["streak"] == 1
    assert _progress(user).lifetime_tasks_completed == 5


def test_subtask_autocomplete_counts_and_returns_unlocks(api, user, make_task):
    UserProgress.objects.update_or_create(user=user, defaults={"lifetime_tasks_completed": 4})
    task = make_task()
    subtask = baker.make("tasks.Subtask", task=task, title="only step", order_index=0)
    response = api.patch(f"/api/v1/subtasks/{subtask.pk}", {"completed": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["task_completed"] is True
    assert _timeless(body["unlocked_achievements"]) == [TASKS_5]
    assert _progress(user).lifetime_tasks_completed == 5


def test_focus_completion_through_the_api(api, user, make_task, complete):
    focused = make_task(estimated_duration=20, focus_time_seconds=600)
    unfocused = make_task(estimated_duration=20, focus_time_seconds=599)
    complete(focused)
    complete(unfocused)
    stats = api.get("/api/v1/achievements/stats").json()["data"]
    assert stats["focus_completions"] == 1
    assert stats["lifetime_tasks_completed"] == 2


def test_streak_across_utc_midnight_through_the_api(api, user, make_task, complete, clock):
    clock.set(2026, 3, 1, 23, 59)
    complete(make_task())
    clock.set(2026, 3, 2, 0, 1)
    task = make_task()
    response = api.post(f"/api/v1/tasks/{task.pk}/force-complete", {"version": task.version}, format="json")
    assert response.json()["data"]["streak"] == 2
    assert api.get("/api/v1/achievements/stats").json()["data"]["current_streak"] == 2
    clock.set(2026, 3, 4, 0, 0)  # March 3 passed without a completion
    stats = api.get("/api/v1/achievements/stats").json()["data"]
    assert (stats["current_streak"], stats["longest_streak"]) == (0, 2)


# --- endpoints' shapes ---------------------------------------------------------------------------------


def test_definitions_list_active_only_in_contract_order(api):
    AchievementDefinition.objects.filter(code="tasks_100").update(active=False)
    response = api.get("/api/v1/achievements")
    assert response.status_code == 200
    body = response.json()
    assert [d["id"] for d in body["data"]] == ["tasks_5", "tasks_25", "streak_7", "streak_30", "focus_10", "notes_10"]
    assert body["pagination"] == {"offset": 0, "limit": 25, "total": 6, "has_more": False}
    first = body["data"][0]
    assert set(first) == {
        "id", "name", "description", "message", "category", "threshold", "perk", "perk_type", "perk_value",
        "created_at", "updated_at",
    }  # fmt: skip
    assert first["category"] == "tasks" and first["threshold"] == 5
    assert first["perk"] == {"type": "max_tasks", "value": 15}
    # The SPA's names (SPA.md §9): message = description, the perk flat, category `streaks`.
    assert first["message"] == first["description"] != ""
    assert (first["perk_type"], first["perk_value"]) == ("max_tasks", 15)
    assert {d["category"] for d in body["data"]} == {"tasks", "streaks", "focus", "notes"}
    assert first["created_at"].endswith("Z") and len(first["created_at"]) == 24


def test_definitions_without_perk_show_null(api):
    AchievementDefinition.objects.create(code="tasks_1", name="First", category="tasks", threshold=1)
    data = api.get("/api/v1/achievements").json()["data"]
    assert data[0]["id"] == "tasks_1" and data[0]["perk"] is None
    assert data[0]["perk_type"] is None and data[0]["perk_value"] is None
    assert data[0]["message"] == ""


def test_me_shape_for_a_new_user(api, user):
    data = api.get("/api/v1/achievements/me").json()["data"]
    assert data["stats"] == {
        "lifetime_tasks_completed": 0,
        "current_streak": 0,
        "longest_streak": 0,
        "focus_completions": 0,
        "notes_converted": 0,
    }
    assert data["unlocked"] == [] and data["unlocked_achievements"] == []
    assert data["progress"][0] == {
        "id": "tasks_5",
        "name": "Task Starter",
        "current": 0,
        "threshold": 5,
        "unlocked": False,
    }
    assert len(data["progress"]) == 7
    assert data["effective_limits"] == {"max_tasks": 50, "max_notes": 10, "max_subtasks": 4, "daily_ai_credits": 0}


def test_me_with_progress_and_unlocks(client_for, pro_user, clock):
    clock.set(2026, 3, 10, 8, 0)
    UserProgress.objects.update_or_create(
        user=pro_user,
        defaults={
            "lifetime_tasks_completed": 30,
            "current_streak": 8,
            "longest_streak": 8,
            "last_completion_date": dt.date(2026, 3, 9),
            "focus_completions": 3,
            "notes_converted": 1,
        },
    )
    for code in ("tasks_5", "tasks_25", "streak_7"):
        UserAchievement.objects.create(
            user=pro_user, definition=AchievementDefinition.objects.get(code=code), unlocked_at=clock.now()
        )
    data = client_for(pro_user).get("/api/v1/achievements/me").json()["data"]
    assert data["stats"]["current_streak"] == 8
    # Oldest first; unlocks of the same instant by threshold, then code.
    assert data["unlocked"] == ["tasks_5", "streak_7", "tasks_25"]  # codes, as the SPA expects
    assert [u["id"] for u in data["unlocked_achievements"]] == data["unlocked"]
    assert data["unlocked_achievements"][1] == {
        "id": "streak_7",
        "achievement_id": "streak_7",
        "name": "Week Warrior",
        "achievement_name": "Week Warrior",
        "description": AchievementDefinition.objects.get(code="streak_7").description,
        "unlocked_at": "2026-03-10T08:00:00.000Z",
        "perk": {"type": "daily_credits", "value": 2},
    }
    progress = {p["id"]: (p["current"], p["unlocked"]) for p in data["progress"]}
    assert progress == {
        "tasks_5": (30, True),
        "tasks_25": (30, True),
        "tasks_100": (30, False),
        "streak_7": (8, True),
        "streak_30": (8, False),
        "focus_10": (3, False),
        "notes_10": (1, False),
    }
    assert data["effective_limits"] == {"max_tasks": 240, "max_notes": 25, "max_subtasks": 10, "daily_ai_credits": 12}


def test_unlocks_of_deactivated_definitions_are_kept(api, user):
    definition = AchievementDefinition.objects.get(code="notes_10")
    UserAchievement.objects.create(user=user, definition=definition)
    definition.active = False
    definition.save()
    data = api.get("/api/v1/achievements/me").json()["data"]
    assert data["unlocked"] == ["notes_10"]
    assert [u["achievement_id"] for u in data["unlocked_achievements"]] == ["notes_10"]
    assert "notes_10" not in [p["id"] for p in data["progress"]]
    assert data["effective_limits"]["max_notes"] == 15


def test_stats_and_limits_endpoints(api, user):
    UserProgress.objects.update_or_create(user=user, defaults={"lifetime_tasks_completed": 7, "notes_converted": 2})
    UserAchievement.objects.create(user=user, definition=AchievementDefinition.objects.get(code="tasks_5"))
    stats = api.get("/api/v1/achievements/stats")
    assert stats.status_code == 200
    assert stats.json() == {
        "data": {
            "lifetime_tasks_completed": 7,
            "current_streak": 0,
            "longest_streak": 0,
            "focus_completions": 0,
            "notes_converted": 2,
        }
    }
    limits = api.get("/api/v1/achievements/limits")
    assert limits.json() == {"data": {"max_tasks": 65, "max_notes": 10, "max_subtasks": 4, "daily_ai_credits": 0}}


def test_users_own_achievements_is_achievements_me(api, user, make_user):
    UserProgress.objects.update_or_create(user=user, defaults={"lifetime_tasks_completed": 7})
    UserAchievement.objects.create(user=user, definition=AchievementDefinition.objects.get(code="tasks_5"))

    response = api.get(f"/api/v1/users/{user.pk}/achievements")

    assert response.status_code == 200
    assert response.json() == api.get("/api/v1/achievements/me").json()
    assert response.json()["data"]["unlocked"] == ["tasks_5"]


def test_users_achievements_of_another_id_is_forbidden(api, make_user):
    other = make_user()
    UserAchievement.objects.create(user=other, definition=AchievementDefinition.objects.get(code="tasks_5"))
    for user_id in (other.pk, "00000000-0000-4000-8000-000000000000"):  # another user, or nobody
        response = api.get(f"/api/v1/users/{user_id}/achievements")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
        assert "tasks_5" not in response.content.decode()


def test_endpoints_need_authentication(anon_client, user):
    for path in (
        f"/api/v1/users/{user.pk}/achievements",
        "/api/v1/achievements",
        "/api/v1/achievements/me",
        "/api/v1/achievements/stats",
        "/api/v1/achievements/limits",
    ):
        response = anon_client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


# --- query counts ----------------------------------------------------------------------------------


def _unlock_all(user) -> None:
    UserAchievement.objects.bulk_create(
        UserAchievement(user=user, definition=d) for d in AchievementDefinition.objects.all()
    )


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        ("/api/v1/achievements", 1),  # page with its total
        ("/api/v1/achievements/me", 4),  # progress, unlocks, definitions, perks
        ("/api/v1/achievements/stats", 1),
        ("/api/v1/achievements/limits", 1),
    ],
)
def test_query_counts_are_constant(api, user, django_assert_num_queries, path, queries):
    with django_assert_num_queries(1 + queries):  # + the access-token user lookup
        assert api.get(path).status_code == 200
    _unlock_all(user)
    for i in range(10):
        AchievementDefinition.objects.create(code=f"extra_{i}", name="Extra", category="tasks", threshold=500 + i)
    with django_assert_num_queries(1 + queries):  # + the access-token user lookup
        assert api.get(path).status_code == 200


def test_completion_request_query_count_does_not_grow_with_history(
    api, user, make_task, complete, django_assert_max_num_queries
):
    _unlock_all(user)
    UserProgress.objects.update_or_create(user=user, defaults={"lifetime_tasks_completed": 500})
    first, second = make_task(), make_task()
    with django_assert_max_num_queries(30) as baseline:
        complete(first)
    with django_assert_max_num_queries(len(baseline)):
        complete(second)
