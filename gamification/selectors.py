"""Reads of gamification: effective limits, streaks, achievements (CONTRACT §11, §16).

`limits_for_user` is THE place where tier base + achievement perks are combined;
every limit check in the project reads it.

Displayed streak: the stored `current_streak` is reset only by the daily job, so
between a missed day and the next job run it would still show the old value. Every
read therefore derives the streak from `last_completion_date`: it is the stored value
when the last completion was today or yesterday (UTC), else 0. The job's reset and
this rule always agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from gamification.models import AchievementDefinition, Category, PerkType, UserAchievement, UserProgress
from perpetua.api.serializers import format_datetime


@dataclass(frozen=True)
class EffectiveLimits:
    max_tasks: int
    max_subtasks: int
    max_description_length: int
    max_notes: int
    daily_ai_credits: int


@dataclass(frozen=True)
class Perks:
    """Sums of a user's unlocked perks, by perk type."""

    max_tasks: int = 0
    max_notes: int = 0
    daily_credits: int = 0


# --- time -------------------------------------------------------------------------------------


def utc_today(*, now: dt.datetime | None = None) -> dt.date:
    """The UTC calendar day of `now` (default: `timezone.now()`): the unit of streaks."""
    return (now or timezone.now()).astimezone(dt.UTC).date()


def displayed_streak(*, current_streak: int, last_completion_date: dt.date | None, today: dt.date) -> int:
    """The streak as clients see it: 0 once a whole UTC day passed without a completion,
    even before the daily job stored that (see the module docstring)."""
    if last_completion_date is None or last_completion_date < today - dt.timedelta(days=1):
        return 0
    return current_streak


# --- limits -----------------------------------------------------------------------------------


def _tier_base(*, is_pro: bool) -> EffectiveLimits:
    """The tier's base limits from settings (CONTRACT §16), before any perk."""
    if is_pro:
        return EffectiveLimits(
            max_tasks=settings.PRO_MAX_TASKS,
            max_subtasks=settings.PRO_MAX_SUBTASKS,
            max_description_length=settings.PRO_MAX_DESCRIPTION_LENGTH,
            max_notes=settings.PRO_MAX_NOTES,
            daily_ai_credits=settings.PRO_DAILY_CREDITS,
        )
    return EffectiveLimits(
        max_tasks=settings.FREE_MAX_TASKS,
        max_subtasks=settings.FREE_MAX_SUBTASKS,
        max_description_length=settings.FREE_MAX_DESCRIPTION_LENGTH,
        max_notes=settings.FREE_MAX_NOTES,
        daily_ai_credits=0,
    )


# (perk_type, perk_value) of the user's unlocked perks: a constant statement, because this
# runs in every limit check and compiling the equivalent queryset cost more than running it.
_PERK_ROWS = """
SELECT d.perk_type, d.perk_value
FROM gamification_userachievement u JOIN gamification_achievementdefinition d ON d.id = u.definition_id
WHERE u.user_id = %(user_id)s AND d.perk_type IS NOT NULL"""


def perks_for_user(*, user: Any) -> Perks:
    """The sums of every perk the user unlocked, in one query (a handful of rows).

    Unlocks are permanent: perks of definitions deactivated since still count.
    """
    totals = {PerkType.MAX_TASKS: 0, PerkType.MAX_NOTES: 0, PerkType.DAILY_CREDITS: 0}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_PERK_ROWS, {"user_id": user.pk})
            rows = cursor.fetchall()
    else:  # SQLite (`make run`) stores uuids as hex text: the ORM binds them
        rows = UserAchievement.objects.filter(user_id=user.pk, definition__perk_type__isnull=False).values_list(
            "definition__perk_type", "definition__perk_value"
        )
    for perk_type, value in rows:
        totals[perk_type] = totals.get(perk_type, 0) + value
    return Perks(
        max_tasks=totals[PerkType.MAX_TASKS],
        max_notes=totals[PerkType.MAX_NOTES],
        daily_credits=totals[PerkType.DAILY_CREDITS],
    )


def limits_for_user(*, user: Any) -> EffectiveLimits:
    """Tier base + the user's unlocked perks (CONTRACT §11, §16), one query.

    Every limit check in the project (tasks, subtasks, descriptions, notes, daily
    credits) reads this function, so a perk added here applies everywhere at once.
    `daily_credits` perks apply only to Pro users (free users get no daily credits,
    CONTRACT §16); they are kept, and count as soon as the user is Pro.
    """
    is_pro = getattr(user, "tier", "free") == "pro"
    base = _tier_base(is_pro=is_pro)
    perks = perks_for_user(user=user)
    return replace(
        base,
        max_tasks=base.max_tasks + perks.max_tasks,
        max_notes=base.max_notes + perks.max_notes,
        daily_ai_credits=base.daily_ai_credits + (perks.daily_credits if is_pro else 0),
    )


# --- progress ---------------------------------------------------------------------------------


def progress_for_user(*, user: Any) -> UserProgress:
    """The user's progress row; an unsaved all-zero row if none exists yet (reads never write)."""
    return UserProgress.objects.filter(user_id=user.pk).first() or UserProgress(user_id=user.pk)


def streak_for_user(*, user: Any) -> int:
    """The user's current streak in UTC days, as displayed (CONTRACT §11), one query."""
    row = UserProgress.objects.filter(user_id=user.pk).values_list("current_streak", "last_completion_date").first()
    if row is None:
        return 0
    return displayed_streak(current_streak=row[0], last_completion_date=row[1], today=utc_today())


def stats_from_progress(progress: UserProgress, *, today: dt.date | None = None) -> dict[str, int]:
    """The `/achievements/me` `stats` object of a progress row."""
    return {
        "lifetime_tasks_completed": progress.lifetime_tasks_completed,
        "current_streak": displayed_streak(
            current_streak=progress.current_streak,
            last_completion_date=progress.last_completion_date,
            today=today or utc_today(),
        ),
        "longest_streak": progress.longest_streak,
        "focus_completions": progress.focus_completions,
        "notes_converted": progress.notes_converted,
    }


def stats_for_user(*, user: Any) -> dict[str, int]:
    """GET /achievements/stats (CONTRACT §11), one query."""
    return stats_from_progress(progress_for_user(user=user))


# --- achievements -----------------------------------------------------------------------------

_CATEGORY_ORDER = Case(
    *(When(category=category, then=Value(index)) for index, category in enumerate(Category.values)),
    default=Value(len(Category.values)),
    output_field=IntegerField(),
)


def achievement_definitions_active() -> QuerySet[AchievementDefinition]:
    """Active definitions, tasks → streak → focus → notes, then by threshold."""
    return (
        AchievementDefinition.objects.filter(active=True)
        .annotate(category_order=_CATEGORY_ORDER)
        .order_by("category_order", "threshold", "code")
    )


def perk_data(definition: AchievementDefinition) -> dict[str, Any] | None:
    if not definition.perk_type or definition.perk_value is None:
        return None
    return {"type": definition.perk_type, "value": definition.perk_value}


def unlock_data(definition: AchievementDefinition, *, unlocked_at: dt.datetime) -> dict[str, Any]:
    """THE `Unlock` object (CONTRACT §11), in completion responses and `/achievements/me`:
    `id` is the code; `achievement_id`/`achievement_name` repeat `id`/`name` under the
    SPA's names. `unlocked_at` is already in the contract's format (these dicts reach the
    response as they are)."""
    return {
        "id": definition.code,
        "achievement_id": definition.code,
        "name": definition.name,
        "achievement_name": definition.name,
        "description": definition.description,
        "unlocked_at": format_datetime(unlocked_at),
        "perk": perk_data(definition),
    }


def _current_for(category: str, stats: dict[str, int]) -> int:
    return {
        Category.TASKS: stats["lifetime_tasks_completed"],
        Category.STREAKS: stats["current_streak"],
        Category.FOCUS: stats["focus_completions"],
        Category.NOTES: stats["notes_converted"],
    }.get(category, 0)


def limits_data(limits: EffectiveLimits) -> dict[str, int]:
    """The contract's `effective_limits` object."""
    return {
        "max_tasks": limits.max_tasks,
        "max_notes": limits.max_notes,
        "max_subtasks": limits.max_subtasks,
        "daily_ai_credits": limits.daily_ai_credits,
    }


def achievements_overview(*, user: Any) -> dict[str, Any]:
    """GET /achievements/me (CONTRACT §11) in four queries, whatever the counts:
    progress row, active definitions, the user's unlocks (with their definitions), perks.

    `unlocked` is the codes of every unlock, also of definitions deactivated since (they
    are permanent), and `unlocked_achievements` the same unlocks as `Unlock` objects;
    `progress` lists the active definitions.
    """
    stats = stats_from_progress(progress_for_user(user=user))
    unlocks = list(
        UserAchievement.objects.filter(user_id=user.pk)
        .select_related("definition")
        .order_by("unlocked_at", "definition__threshold", "definition__code")
    )
    held = {unlock.definition_id for unlock in unlocks}
    return {
        "stats": stats,
        "unlocked": [unlock.definition.code for unlock in unlocks],
        "unlocked_achievements": [unlock_data(unlock.definition, unlocked_at=unlock.unlocked_at) for unlock in unlocks],
        "progress": [
            {
                "id": definition.code,
                "name": definition.name,
                "current": _current_for(definition.category, stats),
                "threshold": definition.threshold,
                "unlocked": definition.pk in held,
            }
            for definition in achievement_definitions_active()
        ],
        "effective_limits": limits_data(limits_for_user(user=user)),
    }
