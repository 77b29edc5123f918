"""Staff view of in-app notifications."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "type", "title", "read", "read_at"]
    list_filter = ["type", "read", "created_at"]
    search_fields = ["user__email", "title", "body"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["id", "read_at", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
