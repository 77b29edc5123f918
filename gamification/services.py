"""Every write of gamification: progress counters, streaks and unlocks (CONTRACT §11).

Concurrency: all counters of a user live in one `UserProgress` row, locked with
`SELECT ... FOR UPDATE` for the whole read-modify-write, so concurrent completions
of one user are counted exactly once each and unlock exactly once. The row is locked
after the tasks services' user/task locks (user → task → progress); nothing locks in
the other order. The daily `streaks_break_stale` is a single conditional UPDATE that
waits for those locks and re-checks its WHERE on the committed row, so it can never
break a streak a concurrent completion just extended.

Time: streak days are UTC calendar days (CONTRACT §0). The day of a completion is the
UTC date of `task.completed_at` (falling back to `timezone.now()`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from gamification.models import AchievementDefinition, Category, UserAchievement, UserProgress
from gamification.selectors import displayed_streak, perk_data, unlock_data, utc_today
from notifications import services as notification_services


@dataclass
class CompletionProgress:
    """What a completion produced: the contract's `Unlock` objects and the streak after it.

    Each `unlocked_achievements` item is the `Unlock` object of `selectors.unlock_data`
    (CONTRACT §11); the public id of an achievement is its definition's `code` (e.g.
    `"tasks_5"`).
    """

    unlocked_achievements: list[dict[str, Any]] = field(default_factory=list)
    streak: int = 0


# --- progress row ---------------------------------------------------------------------------


def _progress_lock(*, user: Any) -> UserProgress:
    """The user's progress row, locked until the end of the transaction.

    Sign-up writes no row: every account gets its row here, on its first counted event
    (INSERT ... ON CONFLICT DO NOTHING, so two concurrent first completions cannot both
    create one).
    """
    progress = UserProgress.objects.select_for_update().filter(user_id=user.pk).first()
    if progress is None:
        UserProgress.objects.bulk_create([UserProgress(user_id=user.pk)], ignore_conflicts=True)
        progress = UserProgress.objects.select_for_update().get(user_id=user.pk)
    return progress


def _streak_advance(progress: UserProgress, day: dt.date) -> None:
    """Count a completion on UTC `day`: same day → unchanged; the day after the last → +1;
    later → a new streak of 1. A day before the last (clock skew) changes nothing."""
    last = progress.last_completion_date
    if last is None or day > last + dt.timedelta(days=1):
        progress.current_streak = 1
    elif day == last + dt.timedelta(days=1):
        progress.current_streak += 1
    elif progress.current_streak == 0:  # same day (or earlier) after a broken streak: still one day
        progress.current_streak = 1
    progress.longest_streak = max(progress.longest_streak, progress.current_streak)
    if last is None or day > last:
        progress.last_completion_date = day


def is_focus_completion(*, task: Any) -> bool:
    """A task completed with focus time ≥ FOCUS_COMPLETION_RATIO * its estimate (CONTRACT §11).

    Tasks without `estimated_duration` never count.
    """
    minutes = task.estimated_duration
    if not minutes:
        return False
    return task.focus_time_seconds >= settings.FOCUS_COMPLETION_RATIO * minutes * 60


# --- unlocks ----------------------------------------------------------------------------------


def _notification_body(definition: AchievementDefinition) -> str:
    perk = perk_data(definition)
    if perk is None:
        return definition.description
    label = {
        "max_tasks": "more active tasks",
        "max_notes": "more notes",
        "daily_credits": "more daily AI credits (Pro)",
    }.get(perk["type"], perk["type"])
    perk_text = f"Perk unlocked: +{perk['value']} {label}."
    return f"{definition.description} {perk_text}".strip()


def _unlock_reached(*, user: Any, progress: UserProgress) -> list[dict[str, Any]]:
    """Unlock every active definition whose threshold `progress` reaches and that the user
    does not hold yet; one `achievement` notification each, in the caller's transaction.

    One query finds them (usually none); unlocks add one INSERT plus one notification
    each. Definitions are read fresh (no cache), so admin edits apply at once.
    """
    reached = (
        Q(category=Category.TASKS, threshold__lte=progress.lifetime_tasks_completed)
        | Q(category=Category.STREAKS, threshold__lte=progress.current_streak)
        | Q(category=Category.FOCUS, threshold__lte=progress.focus_completions)
        | Q(category=Category.NOTES, threshold__lte=progress.notes_converted)
    )
    held = UserAchievement.objects.filter(user_id=user.pk, definition_id=OuterRef("pk"))
    definitions = list(
        AchievementDefinition.objects.filter(reached, active=True).filter(~Exists(held)).order_by("threshold", "code")
    )
    if not definitions:
        return []
    now = timezone.now()
    # ignore_conflicts: a staff grant racing with this completion must not fail the completion.
    UserAchievement.objects.bulk_create(
        [UserAchievement(user_id=user.pk, definition=definition, unlocked_at=now) for definition in definitions],
        ignore_conflicts=True,
    )
    # Only what this call inserted is a new unlock (a conflicting grant was already there).
    inserted = set(
        UserAchievement.objects.filter(user_id=user.pk, definition__in=definitions, unlocked_at=now).values_list(
            "definition_id", flat=True
        )
    )
    definitions = [definition for definition in definitions if definition.pk in inserted]
    for definition in definitions:
        notification_services.notification_create(
            user=user,
            type="achievement",
            title=f"Achievement unlocked: {definition.name}",
            body=_notification_body(definition),
            action_url="/achievements",
        )
    return [unlock_data(definition, unlocked_at=now) for definition in definitions]


# --- use cases ----------------------------------------------------------------------------------


def progress_record_completion(*, user: Any, task: Any) -> CompletionProgress:
    """Count one genuine completion of `task` (CONTRACT §3, §11).

    The tasks services call this exactly once per task, inside the completing
    transaction, guarded by `Task.completion_counted` (reopen + re-complete never counts
    twice; a recovered task never calls it). It increments the lifetime count, advances
    the streak on the completion's UTC day, counts a focus completion
    (`focus_time_seconds >= FOCUS_COMPLETION_RATIO * estimated_duration * 60`) and
    unlocks what that reaches. Cost: 3 queries, plus 2 per unlock.
    """
    day = utc_today(now=getattr(task, "completed_at", None) or timezone.now())
    with transaction.atomic(savepoint=False):  # part of the caller's transaction: no SAVEPOINT round-trips
        progress = _progress_lock(user=user)
        progress.lifetime_tasks_completed += 1
        _streak_advance(progress, day)
        if is_focus_completion(task=task):
            progress.focus_completions += 1
        progress.save(
            update_fields=[
                "lifetime_tasks_completed",
                "current_streak",
                "longest_streak",
                "last_completion_date",
                "focus_completions",
                "updated_at",
            ]
        )
        unlocked = _unlock_reached(user=user, progress=progress)
    return CompletionProgress(unlocked_achievements=unlocked, streak=progress.current_streak)


def progress_record_note_converted(*, user: Any) -> CompletionProgress:
    """Count one note converted into a task (CONTRACT §7, §11) and unlock what it reaches.

    Call it once per accepted conversion, inside the converting transaction. `streak`
    is the user's displayed streak (a conversion is not a task completion).
    """
    with transaction.atomic(savepoint=False):  # part of the caller's transaction: no SAVEPOINT round-trips
        progress = _progress_lock(user=user)
        progress.notes_converted += 1
        progress.save(update_fields=["notes_converted", "updated_at"])
        unlocked = _unlock_reached(user=user, progress=progress)
    streak = displayed_streak(
        current_streak=progress.current_streak, last_completion_date=progress.last_completion_date, today=utc_today()
    )
    return CompletionProgress(unlocked_achievements=unlocked, streak=streak)


def streaks_break_stale(*, today: dt.date | None = None) -> int:
    """The daily job (`manage.py calculate_streaks`, CONTRACT §11, §15): set
    `current_streak` to 0 for every user whose last completion is before yesterday (UTC).

    One UPDATE; idempotent (a second run matches nothing) and correct after a missed
    day (the condition is on dates, not on "since the last run"). A user who completed
    yesterday or today keeps the streak, whatever the hour the job runs. Returns the
    number of streaks broken. Achievements and perks are untouched (unlocks are
    permanent).
    """
    today = today or utc_today()
    yesterday = today - dt.timedelta(days=1)
    return (
        UserProgress.objects.filter(current_streak__gt=0)
        .filter(Q(last_completion_date__lt=yesterday) | Q(last_completion_date__isnull=True))
        .update(current_streak=0, updated_at=timezone.now())
    )
