"""Effective limits: the ONE place tier base + achievement perks are combined (CONTRACT §16, §11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings


@dataclass(frozen=True)
class EffectiveLimits:
    max_tasks: int
    max_subtasks: int
    max_description_length: int
    max_notes: int
    daily_ai_credits: int


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


def limits_for_user(*, user: Any) -> EffectiveLimits:
    """Tier base + the user's unlocked perks (CONTRACT §11, §16).

    Every limit check in the project (tasks, subtasks, descriptions, notes, daily
    credits) reads this function, so a perk added here applies everywhere at once.
    """
    base = _tier_base(is_pro=getattr(user, "tier", "free") == "pro")
    # --- Perks (issue 4) -------------------------------------------------------------
    # Add the sums of the user's unlocked `max_tasks`, `max_notes` and `daily_credits`
    # perks here, e.g. `dataclasses.replace(base, max_tasks=base.max_tasks + perks.max_tasks)`.
    # Pro-only values (daily credits) stay 0 for free users.
    return base


def streak_for_user(*, user: Any) -> int:
    """The user's current streak in UTC days (CONTRACT §11). Real body arrives with issue 4."""
    return 0
