"""Staff view of in-app notifications and Web Push subscriptions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from notifications.models import Notification, PushSubscription
from notifications.providers import endpoint_origin


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


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Browsers registered for Web Push. Keys are not shown: the auth secret decrypts the user's pushes."""

    list_display = ["updated_at", "user", "push_service", "created_at"]
    list_filter = ["created_at", "updated_at"]
    search_fields = ["user__email", "endpoint"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    fields = ["id", "user", "endpoint", "created_at", "updated_at"]
    readonly_fields = ["id", "user", "endpoint", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    ordering = ["-updated_at"]

    @admin.display(description="push service")
    def push_service(self, obj: PushSubscription) -> str:
        return endpoint_origin(obj.endpoint)

    def has_add_permission(self, request: Any) -> bool:
        return False  # only browsers register subscriptions (they hold the private key)
