from django.contrib import admin

from perpetua.api.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only: rows are written by the idempotency layer and purged after IDEMPOTENCY_TTL_HOURS."""

    list_display = ("key", "user", "state", "status_code", "replayable", "created_at")
    list_filter = ("state", "replayable", "created_at")
    search_fields = ("key", "user__email")
    list_select_related = ("user",)
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
