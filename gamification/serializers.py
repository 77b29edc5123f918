"""Output shapes of the achievements endpoints (CONTRACT §11). Read-only: no request bodies."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gamification.models import AchievementDefinition, Category, PerkType
from gamification.selectors import perk_data
from perpetua.api.serializers import DateTimeField, ModelSerializer


class AchievementPerkSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=PerkType.choices)
    value = serializers.IntegerField(min_value=0)


class AchievementDefinitionSerializer(ModelSerializer):
    """A definition. `id` is its stable code (e.g. `tasks_5`), the id used in `Unlock` objects."""

    id = serializers.CharField(source="code", help_text="Stable code of the achievement, e.g. `tasks_5`.")
    category = serializers.ChoiceField(choices=Category.choices)
    perk = serializers.SerializerMethodField()

    class Meta:
        model = AchievementDefinition
        fields = ["id", "name", "description", "category", "threshold", "perk", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(AchievementPerkSerializer(allow_null=True))
    def get_perk(self, definition: AchievementDefinition) -> dict[str, Any] | None:
        return perk_data(definition)


class AchievementStatsSerializer(serializers.Serializer):
    lifetime_tasks_completed = serializers.IntegerField(min_value=0)
    current_streak = serializers.IntegerField(
        min_value=0, help_text="Consecutive UTC days with a completion, ending today or yesterday; else 0."
    )
    longest_streak = serializers.IntegerField(min_value=0)
    focus_completions = serializers.IntegerField(min_value=0)
    notes_converted = serializers.IntegerField(min_value=0)


class UnlockedAchievementSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The achievement's code, e.g. `tasks_5`.")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    unlocked_at = DateTimeField()
    perk = AchievementPerkSerializer(allow_null=True)


class AchievementProgressSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The achievement's code, e.g. `tasks_5`.")
    name = serializers.CharField()
    current = serializers.IntegerField(min_value=0)
    threshold = serializers.IntegerField(min_value=1)
    unlocked = serializers.BooleanField()


class EffectiveLimitsSerializer(serializers.Serializer):
    max_tasks = serializers.IntegerField(min_value=0, help_text="Active tasks: tier base + `max_tasks` perks.")
    max_notes = serializers.IntegerField(min_value=0, help_text="Notes: tier base + `max_notes` perks.")
    max_subtasks = serializers.IntegerField(min_value=0, help_text="Subtasks per task (tier).")
    daily_ai_credits = serializers.IntegerField(
        min_value=0, help_text="Pro: daily credits + `daily_credits` perks; free: 0 (perks wait for Pro)."
    )


class AchievementsMeSerializer(serializers.Serializer):
    stats = AchievementStatsSerializer()
    unlocked = UnlockedAchievementSerializer(many=True)
    progress = AchievementProgressSerializer(many=True)
    effective_limits = EffectiveLimitsSerializer()


class AchievementsMeResponseSerializer(serializers.Serializer):
    data = AchievementsMeSerializer()


class AchievementStatsResponseSerializer(serializers.Serializer):
    data = AchievementStatsSerializer()


class EffectiveLimitsResponseSerializer(serializers.Serializer):
    data = EffectiveLimitsSerializer()
