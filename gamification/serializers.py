"""Output shapes of the achievements endpoints (CONTRACT §11). Read-only: no request bodies."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gamification.models import AchievementDefinition, Category, PerkType
from gamification.selectors import perk_data
from perpetua.api.serializers import BooleanField, CharField, ChoiceField, DateTimeField, IntegerField, ModelSerializer


class AchievementPerkSerializer(serializers.Serializer):
    type = ChoiceField(choices=PerkType.choices)
    value = IntegerField(min_value=0)


class AchievementDefinitionSerializer(ModelSerializer):
    """A definition (CONTRACT §11). `id` is its stable code (e.g. `tasks_5`), the id used in
    `Unlock` objects; `message`, `perk_type` and `perk_value` are the SPA's names for
    `description` and `perk`."""

    id = CharField(source="code", help_text="Stable code of the achievement, e.g. `tasks_5`.")
    message = CharField(source="description", allow_blank=True, help_text="= `description`.")
    category = ChoiceField(choices=Category.choices)
    perk = serializers.SerializerMethodField()
    perk_type = serializers.SerializerMethodField(help_text="= `perk.type`; null without a perk.")
    perk_value = serializers.SerializerMethodField(help_text="= `perk.value`; null without a perk.")

    class Meta:
        model = AchievementDefinition
        fields = [
            "id",
            "name",
            "description",
            "message",
            "category",
            "threshold",
            "perk",
            "perk_type",
            "perk_value",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AchievementPerkSerializer(allow_null=True))
    def get_perk(self, definition: AchievementDefinition) -> dict[str, Any] | None:
        return perk_data(definition)

    @extend_schema_field(ChoiceField(choices=PerkType.choices, allow_null=True))
    def get_perk_type(self, definition: AchievementDefinition) -> str | None:
        perk = perk_data(definition)
        return None if perk is None else perk["type"]

    @extend_schema_field(IntegerField(min_value=1, allow_null=True))
    def get_perk_value(self, definition: AchievementDefinition) -> int | None:
        perk = perk_data(definition)
        return None if perk is None else perk["value"]


class AchievementStatsSerializer(serializers.Serializer):
    lifetime_tasks_completed = IntegerField(min_value=0)
    current_streak = IntegerField(
        min_value=0, help_text="Consecutive UTC days with a completion, ending today or yesterday; else 0."
    )
    longest_streak = IntegerField(min_value=0)
    focus_completions = IntegerField(min_value=0)
    notes_converted = IntegerField(min_value=0)


class AchievementUnlockSerializer(serializers.Serializer):
    """The `Unlock` object (CONTRACT §11), wherever one is returned: completion responses
    and `/achievements/me` `unlocked_achievements` (built by `selectors.unlock_data`)."""

    id = CharField(help_text="The achievement's code, e.g. `tasks_5`.")
    achievement_id = CharField(help_text="= `id`.")
    name = CharField()
    achievement_name = CharField(help_text="= `name`.")
    description = CharField(allow_blank=True)
    unlocked_at = DateTimeField()
    perk = AchievementPerkSerializer(allow_null=True)


class AchievementProgressSerializer(serializers.Serializer):
    id = CharField(help_text="The achievement's code, e.g. `tasks_5`.")
    name = CharField()
    current = IntegerField(min_value=0)
    threshold = IntegerField(min_value=1)
    unlocked = BooleanField()


class EffectiveLimitsSerializer(serializers.Serializer):
    max_tasks = IntegerField(min_value=0, help_text="Active tasks: tier base + `max_tasks` perks.")
    max_notes = IntegerField(min_value=0, help_text="Notes: tier base + `max_notes` perks.")
    max_subtasks = IntegerField(min_value=0, help_text="Subtasks per task (tier).")
    daily_ai_credits = IntegerField(
        min_value=0, help_text="Pro: daily credits + `daily_credits` perks; free: 0 (perks wait for Pro)."
    )


class AchievementsMeSerializer(serializers.Serializer):
    stats = AchievementStatsSerializer()
    unlocked = serializers.ListField(
        child=CharField(), help_text="Codes of every unlocked achievement, oldest unlock first."
    )
    unlocked_achievements = AchievementUnlockSerializer(many=True)
    progress = AchievementProgressSerializer(many=True)
    effective_limits = EffectiveLimitsSerializer()


class AchievementsMeResponseSerializer(serializers.Serializer):
    data = AchievementsMeSerializer()


class AchievementStatsResponseSerializer(serializers.Serializer):
    data = AchievementStatsSerializer()


class EffectiveLimitsResponseSerializer(serializers.Serializer):
    data = EffectiveLimitsSerializer()
