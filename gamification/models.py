"""Achievements, their definitions, and each user's progress (CONTRACT §11).

Definitions are data, not code: staff edit them in the admin, the seven of the
contract are seeded by a data migration. A definition's `code` is its public id
(`Unlock.id`, `/achievements` `id`): stable and readable (`tasks_5`), unlike the
UUID primary key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Category(models.TextChoices):
    """What a definition's threshold is compared with."""

    TASKS = "tasks", "Tasks completed (lifetime)"
    STREAKS = "streaks", "Current streak (UTC days)"
    FOCUS = "focus", "Focus completions"
    NOTES = "notes", "Notes converted to tasks"


class PerkType(models.TextChoices):
    MAX_TASKS = "max_tasks", "Extra active tasks"
    MAX_NOTES = "max_notes", "Extra notes"
    DAILY_CREDITS = "daily_credits", "Extra daily AI credits (Pro)"


class AchievementDefinition(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=50, unique=True, help_text="Public id, e.g. tasks_5. Never reuse a code.")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    category = models.CharField(max_length=8, choices=Category.choices)
    threshold = models.PositiveIntegerField()
    perk_type = models.CharField(max_length=16, choices=PerkType.choices, null=True, blank=True)
    perk_value = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(
        default=True, help_text="Inactive definitions are no longer listed or unlocked; past unlocks keep their perk."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "threshold", "code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(threshold__gte=1), name="achievement_threshold_positive"),
            models.CheckConstraint(
                condition=models.Q(perk_type__isnull=True, perk_value__isnull=True)
                | models.Q(perk_type__isnull=False, perk_value__isnull=False),
                name="achievement_perk_type_and_value_together",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class UserProgress(models.Model):
    """One row per user: the counters achievements are measured against.

    Created lazily by the first event that counts (a completion, a converted note);
    reads of an account without one see zeros. `last_completion_date` is a UTC
    calendar day; the streak shown to clients is derived from it (see
    `gamification.selectors.displayed_streak`).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="progress")
    lifetime_tasks_completed = models.PositiveIntegerField(default=0)
    current_streak = models.PositiveIntegerField(default=0)
    longest_streak = models.PositiveIntegerField(default=0)
    last_completion_date = models.DateField(null=True, blank=True, help_text="UTC day of the last completion.")
    focus_completions = models.PositiveIntegerField(default=0)
    notes_converted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "user progress"
        indexes = [
            # The daily streak job scans only users with a live streak.
            models.Index(
                fields=["last_completion_date"],
                condition=models.Q(current_streak__gt=0),
                name="progress_live_streak",
            ),
        ]

    def __str__(self) -> str:
        return f"progress of {self.user_id}"


class UserAchievement(models.Model):
    """An unlock: permanent; its perk is never revoked (CONTRACT §11)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="achievements")
    # PROTECT: deleting a definition would silently take perks away; deactivate it instead.
    definition = models.ForeignKey(AchievementDefinition, on_delete=models.PROTECT, related_name="unlocks")
    unlocked_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["unlocked_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "definition"], name="user_achievement_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} unlocked by {self.user_id}"
