"""Staff view of accounts and sessions (CONTRACT §15). Tier changes go through billing."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models

from accounts.models import RefreshToken, User
from accounts.selectors import token_user_cache_forget
from billing.services import subscription_grant_pro, subscription_revoke_pro


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "tier", "is_staff", "is_active", "created_at"]
    list_filter = ["tier", "is_staff", "is_superuser", "is_active", "created_at"]
    search_fields = ["email", "name", "google_sub", "id"]
    ordering = ["-created_at"]
    date_hierarchy = "created_at"
    actions = ["make_pro", "make_free"]
    readonly_fields = ["id", "google_sub", "tier", "created_at", "updated_at", "last_login"]
    filter_horizontal = ["groups", "user_permissions"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["id", "email", "name", "avatar_url", "timezone", "google_sub"]}),
        ("Subscription", {"fields": ["tier"], "description": "Changed with the Make Pro / Make free actions."}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]

    # Staff edits (deactivation, email, time zone) and deletions reach API requests at once.
    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        token_user_cache_forget(user_id=obj.pk)

    def delete_model(self, request: Any, obj: User) -> None:
        user_id = obj.pk
        super().delete_model(request, obj)
        token_user_cache_forget(user_id=user_id)

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        user_ids = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        for user_id in user_ids:
            token_user_cache_forget(user_id=user_id)

    @admin.action(description="Make Pro")
    def make_pro(self, request: Any, queryset: Any) -> None:
        count = 0
        for user in queryset:
            subscription_grant_pro(user=user, granted_by=request.user)
            count += 1
        self.message_user(request, f"{count} user(s) made Pro.", messages.SUCCESS)

    @admin.action(description="Make free (revoke Pro)")
    def make_free(self, request: Any, queryset: Any) -> None:
        count = 0
        for user in queryset:
            subscription_revoke_pro(user=user)
            count += 1
        self.message_user(request, f"{count} user(s) returned to free.", messages.SUCCESS)


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    """Read-only: sessions are changed only by the auth flows (and the purge command)."""

    list_display = ["id", "user", "family_id", "created_at", "expires_at", "used_at", "revoked_at"]
    list_filter = ["created_at", "expires_at", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "family_id", "id"]
    list_select_related = ["user"]
    readonly_fields = [
        "id",
        "user",
        "family_id",
        "token_hash",
        "created_at",
        "updated_at",
        "expires_at",
        "used_at",
        "replaced_by",
        "revoked_at",
    ]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
