"""Staff view of notes (CONTRACT §15): a repair tool; edits go straight to the row (no limits)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from notes.models import Note


class HasVoiceFilter(admin.SimpleListFilter):
    title = "voice recording"
    parameter_name = "has_voice"

    def lookups(self, request, model_admin):  # type: ignore[no-untyped-def]
        return [("yes", "With recording"), ("no", "Without")]

    def queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        if self.value() == "yes":
            return queryset.filter(voice_url__isnull=False)
        if self.value() == "no":
            return queryset.filter(voice_url__isnull=True)
        return queryset


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["preview", "user", "archived", "transcription_status", "voice_duration_seconds", "created_at",
                    "updated_at"]  # fmt: skip
    list_filter = ["archived", HasVoiceFilter, "transcription_status", "created_at"]
    search_fields = ["content", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["id", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, Any]:
        """A UUID matches the note's or the owner's id exactly; anything else searches content and email."""
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(pk=value) | Q(user_id=value)), False

    @admin.display(description="content")
    def preview(self, note: Note) -> str:
        return note.content[:80]
