"""Staff view of achievements (CONTRACT §11, §15).

Definitions are data: staff add, edit and deactivate them here (a change applies to
the next completion, there is no cache). A definition's `code` is its public id and is
fixed once created; a definition someone unlocked cannot be deleted (deactivate it).
Progress rows and unlocks are read-only records; staff may grant an achievement by
adding an unlock (no notification is sent for manual grants).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from gamification.models import AchievementDefinition, UserAchievement, UserProgress


@admin.register(AchievementDefinition)
class AchievementDefinitionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "threshold", "perk_type", "perk_value", "active", "unlocked_by")
    list_filter = ("category", "perk_type", "active")
    list_editable = ("active",)
    search_fields = ("code", "name", "description")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("category", "threshold")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AchievementDefinition]:
        return super().get_queryset(request).annotate(unlock_count=Count("unlocks"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "code") if obj is not None else fields

    @admin.display(description="unlocked by", ordering="unlock_count")
    def unlocked_by(self, obj: AchievementDefinition) -> int:
        return getattr(obj, "unlock_count", 0)


@admin.register(UserProgress)
class UserProgressAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "lifetime_tasks_completed",
        "current_streak",
        "longest_streak",
        "last_completion_date",
        "focus_completions",
        "notes_converted",
        "updated_at",
    )
    list_filter = ("last_completion_date",)
    search_fields = ("user__email", "=user__id")
    list_select_related = ("user",)
    ordering = ("-updated_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UserAchievement)
class UserAchievementAdmin(admin.ModelAdmin):
    list_display = ("definition", "user", "unlocked_at")
    list_filter = ("definition__category", "definition")
    search_fields = ("user__email", "=user__id", "definition__code", "definition__name")
    list_select_related = ("user", "definition")
    raw_id_fields = ("user",)
    date_hierarchy = "unlocked_at"
    ordering = ("-unlocked_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("created_at", "updated_at")
        return ("id", "user", "definition", "unlocked_at", "created_at", "updated_at")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Perks are never revoked (CONTRACT §11); only a superuser may repair a wrong grant.
        return bool(request.user and request.user.is_superuser)
