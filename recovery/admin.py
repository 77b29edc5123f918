"""Staff view of the activity log and tombstones: read-only, they are audit records."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Q

from recovery.models import ActivityEntry, Tombstone


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def get_search_results(self, request: Any, queryset: Any, search_term: str) -> tuple[Any, bool]:
        """A UUID term matches the row, user or entity id exactly (and a request id); else text search."""
        term = search_term.strip()
        try:
            value = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        match = Q(id=value) | Q(user_id=value) | Q(entity_id=value)
        if any(field.name == "request_id" for field in self.model._meta.fields):
            match |= Q(request_id=term)
        return queryset.filter(match), False


@admin.register(ActivityEntry)
class ActivityEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "entity_type", "entity_id", "action", "source", "request_id"]
    list_filter = ["entity_type", "source", "action", "created_at"]
    search_fields = ["user__email", "action", "request_id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(Tombstone)
class TombstoneAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "entity_type", "entity_id", "recoverable_until"]
    list_filter = ["entity_type", "created_at", "recoverable_until"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    ordering = ["-created_at"]
