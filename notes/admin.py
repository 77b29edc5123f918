"""Staff view of notes (CONTRACT §15): a repair tool; edits go straight to the row (no limits)."""

from __future__ import annotations

from django.contrib import admin

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
    search_fields = ["content", "user__email", "=id", "=user__id"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["id", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]

    @admin.display(description="content")
    def preview(self, note: Note) -> str:
        return note.content[:80]
