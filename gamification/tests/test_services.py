"""Progress, streaks, focus completions and unlocks at the service level (CONTRACT §11)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from model_bakery import baker

from accounts.models import User
from gamification import selectors, services
from gamification.models import AchievementDefinition, UserAchievement, UserProgress
from notifications.models import Notification
from onboarding.services import account_get_or_sign_up_by_email

pytestmark = pytest.mark.django_db


def _record(user, clock, *when, **task_fields):
    """A genuine completion at UTC `when` (year, month, day, hour, minute)."""
    now = clock.set(*when)
    task = baker.make("tasks.Task", user=user, title="t", completed=True, completed_at=now, **task_fields)
    return services.progress_record_completion(user=user, task=task)


def _set(user, **fields) -> None:
    UserProgress.objects.update_or_create(user=user, defaults=fields)


def _progress(user) -> UserProgress:
    return UserProgress.objects.get(user=user)


# --- streaks ---------------------------------------------------------------------------------


def test_completions_at_2359_and_0001_next_day_make_a_streak_of_two(user, clock):
    assert _record(user, clock, 2026, 3, 1, 23, 59).streak == 1
    assert _record(user, clock, 2026, 3, 2, 0, 1).streak == 2
    progress = _progress(user)
    assert progress.current_streak == progress.longest_streak == 2
    assert progress.last_completion_date == dt.date(2026, 3, 2)


def test_same_day_completions_do_not_extend_the_streak(user, clock):
    _record(user, clock, 2026, 3, 1, 0, 0)
    _record(user, clock, 2026, 3, 1, 12, 0)
    assert _record(user, clock, 2026, 3, 1, 23, 59, 59).streak == 1
    progress = _progress(user)
    assert progress.lifetime_tasks_completed == 3
    assert progress.current_streak == 1


def test_a_gap_day_restarts_the_streak_and_keeps_the_longest(user, clock):
    for day in (1, 2, 3):
        _record(user, clock, 2026, 3, day, 9, 0)
    assert _record(user, clock, 2026, 3, 5, 9, 0).streak == 1
    progress = _progress(user)
    assert (progress.current_streak, progress.longest_streak) == (1, 3)


def test_displayed_streak_is_zero_after_a_missed_day_even_before_the_job(user, clock):
    _record(user, clock, 2026, 3, 1, 9, 0)
    _record(user, clock, 2026, 3, 2, 9, 0)
    clock.set(2026, 3, 3, 23, 59)  # yesterday had a completion: still live
    assert selectors.streak_for_user(user=user) == 2
    clock.set(2026, 3, 4, 0, 0)  # all of March 3 passed without one
    assert selectors.streak_for_user(user=user) == 0
    assert selectors.stats_for_user(user=user)["current_streak"] == 0
    assert _progress(user).current_streak == 2  # stored value untouched until the job runs


def test_streak_for_a_user_without_progress_is_zero(user):
    UserProgress.objects.filter(user=user).delete()
    assert selectors.streak_for_user(user=user) == 0


# --- calculate_streaks --------------------------------------------------------------------------


def _user_with(make_user, streak: int, last: dt.date | None):
    user = make_user()
    UserProgress.objects.update_or_create(
        user=user, defaults={"current_streak": streak, "longest_streak": streak, "last_completion_date": last}
    )
    return user


def test_calculate_streaks_breaks_only_streaks_without_a_completion_yesterday(make_user):
    today = dt.date(2026, 3, 10)
    completed_today = _user_with(make_user, 4, today)
    completed_yesterday = _user_with(make_user, 3, today - dt.timedelta(days=1))
    stale = _user_with(make_user, 5, today - dt.timedelta(days=2))
    very_stale = _user_with(make_user, 9, today - dt.timedelta(days=40))

    assert services.streaks_break_stale(today=today) == 2
    assert _progress(completed_today).current_streak == 4
    assert _progress(completed_yesterday).current_streak == 3
    assert _progress(stale).current_streak == 0
    assert _progress(very_stale).current_streak == 0
    assert _progress(stale).longest_streak == 5  # history is kept

    # Idempotent: a second run changes nothing.
    assert services.streaks_break_stale(today=today) == 0
    assert _progress(completed_yesterday).current_streak == 3


def test_calculate_streaks_after_a_missed_day(make_user):
    user = _user_with(make_user, 3, dt.date(2026, 3, 8))
    # The job did not run on the 10th; on the 11th it still breaks the streak once.
    assert services.streaks_break_stale(today=dt.date(2026, 3, 11)) == 1
    assert _progress(user).current_streak == 0


def test_calculate_streaks_is_one_update(make_user, django_assert_num_queries):
    for i in range(5):
        _user_with(make_user, 2, dt.date(2026, 1, 1) + dt.timedelta(days=i))
    with django_assert_num_queries(1):
        services.streaks_break_stale(today=dt.date(2026, 3, 1))


def test_calculate_streaks_command_uses_the_utc_date(make_user, clock):
    kept = _user_with(make_user, 2, dt.date(2026, 3, 1))
    broken = _user_with(make_user, 2, dt.date(2026, 2, 27))
    clock.set(2026, 3, 2, 0, 0, 1)  # just after UTC midnight
    out = io.StringIO()
    call_command("calculate_streaks", stdout=out)
    assert "1 streak(s) broken" in out.getvalue()
    assert _progress(kept).current_streak == 2
    assert _progress(broken).current_streak == 0
    call_command("calculate_streaks", stdout=out)  # twice: safe
    assert _progress(kept).current_streak == 2


def test_calculate_streaks_command_accepts_today(make_user):
    user = _user_with(make_user, 2, dt.date(2026, 3, 1))
    call_command("calculate_streaks", "--today", "2026-03-03", stdout=io.StringIO())
    assert _progress(user).current_streak == 0


def test_completing_after_the_job_broke_the_streak_starts_at_one(user, clock):
    _record(user, clock, 2026, 3, 1, 9, 0)
    services.streaks_break_stale(today=dt.date(2026, 3, 5))
    assert _record(user, clock, 2026, 3, 5, 9, 0).streak == 1


def test_streak_unlock_and_its_perk_survive_a_broken_streak(pro_user, clock):
    for day in range(1, 8):
        result = _record(pro_user, clock, 2026, 3, day, 12, 0)
    assert [u["id"] for u in result.unlocked_achievements] == ["streak_7"]
    assert result.unlocked_achievements[0]["perk"] == {"type": "daily_credits", "value": 2}
    base = selectors.limits_for_user(user=pro_user).daily_ai_credits
    services.streaks_break_stale(today=dt.date(2026, 3, 20))
    assert _progress(pro_user).current_streak == 0
    assert UserAchievement.objects.filter(user=pro_user, definition__code="streak_7").exists()
    assert selectors.limits_for_user(user=pro_user).daily_ai_credits == base
    # Reaching 7 again does not unlock twice.
    for day in range(20, 27):
        result = _record(pro_user, clock, 2026, 3, day, 12, 0)
        assert result.unlocked_achievements == []
    assert UserAchievement.objects.filter(user=pro_user, definition__code="streak_7").count() == 1


# --- focus ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimated", "focus_seconds", "counts"),
    [
        (30, 900, True),  # exactly 50%
        (30, 899, False),
        (30, 3600, True),
        (None, 3600, False),  # no estimate: never a focus completion
        (1, 30, True),
    ],
)
def test_focus_completion_at_half_the_estimate(user, clock, estimated, focus_seconds, counts):
    _record(user, clock, 2026, 3, 1, 9, 0, estimated_duration=estimated, focus_time_seconds=focus_seconds)
    assert _progress(user).focus_completions == (1 if counts else 0)


def test_focus_ratio_comes_from_settings(user, clock, settings):
    settings.FOCUS_COMPLETION_RATIO = 1.0
    _record(user, clock, 2026, 3, 1, 9, 0, estimated_duration=10, focus_time_seconds=300)
    assert _progress(user).focus_completions == 0


def test_ten_focus_completions_unlock_focus_10(user, clock):
    _set(user, focus_completions=9, lifetime_tasks_completed=200)
    UserAchievement.objects.bulk_create(
        UserAchievement(user=user, definition=d) for d in AchievementDefinition.objects.filter(category="tasks")
    )
    result = _record(user, clock, 2026, 3, 1, 9, 0, estimated_duration=10, focus_time_seconds=600)
    assert [u["id"] for u in result.unlocked_achievements] == ["focus_10"]
    assert selectors.limits_for_user(user=user).max_notes == 10 + 5


# --- unlocks ----------------------------------------------------------------------------------


def test_unlock_creates_the_row_and_an_achievement_notification(user, clock):
    for _ in range(4):
        assert _record(user, clock, 2026, 3, 1, 9, 0).unlocked_achievements == []
    result = _record(user, clock, 2026, 3, 1, 9, 0)
    assert result.unlocked_achievements == [
        {
            "id": "tasks_5",
            "achievement_id": "tasks_5",
            "name": "Task Starter",
            "achievement_name": "Task Starter",
            "description": AchievementDefinition.objects.get(code="tasks_5").description,
            "unlocked_at": "2026-03-01T09:00:00.000Z",
            "perk": {"type": "max_tasks", "value": 15},
        }
    ]
    notification = Notification.objects.get(user=user)
    assert notification.type == "achievement"
    assert "Task Starter" in notification.title
    assert "+15" in notification.body


def test_thresholds_already_passed_unlock_together_on_the_next_completion(user, clock):
    _set(user, lifetime_tasks_completed=99)
    result = _record(user, clock, 2026, 3, 1, 9, 0)
    assert [u["id"] for u in result.unlocked_achievements] == ["tasks_5", "tasks_25", "tasks_100"]
    assert Notification.objects.filter(user=user, type="achievement").count() == 3
    assert selectors.limits_for_user(user=user).max_tasks == 50 + 15 + 25 + 50


def test_inactive_definitions_do_not_unlock_but_past_perks_stay(user, clock):
    _set(user, lifetime_tasks_completed=4)
    _record(user, clock, 2026, 3, 1, 9, 0)  # tasks_5 unlocked
    AchievementDefinition.objects.filter(code__in=["tasks_5", "tasks_25"]).update(active=False)
    _set(user, lifetime_tasks_completed=30)
    assert _record(user, clock, 2026, 3, 1, 9, 0).unlocked_achievements == []
    assert selectors.limits_for_user(user=user).max_tasks == 50 + 15


def test_staff_edited_definition_applies_to_the_next_completion(user, clock):
    AchievementDefinition.objects.filter(code="tasks_5").update(threshold=2, perk_value=7)
    _record(user, clock, 2026, 3, 1, 9, 0)
    result = _record(user, clock, 2026, 3, 1, 9, 0)
    assert result.unlocked_achievements[0]["perk"] == {"type": "max_tasks", "value": 7}


def test_a_completion_costs_three_queries_without_unlock(user, clock, django_assert_num_queries):
    _record(user, clock, 2026, 3, 1, 9, 0)
    task = baker.make("tasks.Task", user=user, title="t", completed=True, completed_at=clock.now())
    with django_assert_num_queries(3):  # lock progress, unlock candidates, update progress
        services.progress_record_completion(user=user, task=task)


def test_an_old_account_without_progress_gets_a_row_on_first_completion(user, clock):
    UserProgress.objects.filter(user=user).delete()
    assert _record(user, clock, 2026, 3, 1, 9, 0).streak == 1
    assert _progress(user).lifetime_tasks_completed == 1


# --- notes --------------------------------------------------------------------------------------


def test_notes_converted_counts_and_unlocks_notes_10(user):
    for _ in range(9):
        assert services.progress_record_note_converted(user=user).unlocked_achievements == []
    result = services.progress_record_note_converted(user=user)
    assert [u["id"] for u in result.unlocked_achievements] == ["notes_10"]
    assert _progress(user).notes_converted == 10
    assert _progress(user).lifetime_tasks_completed == 0
    assert selectors.limits_for_user(user=user).max_notes == 10 + 5


# --- sign-up and limits -----------------------------------------------------------------------


def test_sign_up_writes_no_progress_and_the_first_completion_creates_it(db, clock):
    user, created = account_get_or_sign_up_by_email(email="new@example.com")
    assert created
    assert not UserProgress.objects.filter(user=user).exists()
    # Reads show a new account's zeros without writing a row.
    assert selectors.stats_for_user(user=user)["lifetime_tasks_completed"] == 0
    assert not UserProgress.objects.filter(user=user).exists()
    assert _record(user, clock, 2026, 3, 1, 12, 0).streak == 1
    progress = _progress(user)
    assert (progress.lifetime_tasks_completed, progress.current_streak) == (1, 1)


def test_an_issue_token_account_counts_its_first_completion(db, client_for, make_task):
    call_command("issue_token", "cli@example.com", stdout=io.StringIO())
    user = User.objects.get(email="cli@example.com")
    api = client_for(user)
    assert api.get("/api/v1/achievements/me").json()["data"]["stats"]["lifetime_tasks_completed"] == 0
    task = make_task(owner=user)
    completed = api.patch(f"/api/v1/tasks/{task.pk}", {"version": task.version, "completed": True}, format="json")
    assert completed.status_code == 200, completed.json()
    assert UserProgress.objects.get(user=user).lifetime_tasks_completed == 1
    assert api.get("/api/v1/achievements/me").json()["data"]["stats"]["lifetime_tasks_completed"] == 1


def test_limits_are_tier_base_plus_perks_in_one_query(make_user, django_assert_num_queries):
    free, pro = make_user(), make_user(tier="pro")
    codes = ["tasks_5", "tasks_25", "streak_7", "focus_10", "notes_10"]
    for owner in (free, pro):
        UserAchievement.objects.bulk_create(
            UserAchievement(user=owner, definition=d) for d in AchievementDefinition.objects.filter(code__in=codes)
        )
    with django_assert_num_queries(1):
        limits = selectors.limits_for_user(user=free)
    assert (limits.max_tasks, limits.max_notes, limits.max_subtasks, limits.daily_ai_credits) == (90, 20, 4, 0)
    limits = selectors.limits_for_user(user=pro)
    assert (limits.max_tasks, limits.max_notes, limits.max_subtasks, limits.daily_ai_credits) == (240, 35, 10, 12)
