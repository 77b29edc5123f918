"""Staff view of tasks, subtasks, templates, reminders and focus sessions (CONTRACT §15).

Staff edits here go straight to the rows (no limits, no version bump): the admin is a
repair tool. Lists select their foreign keys so a page is a constant number of queries.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from tasks.models import FocusSession, Reminder, Subtask, Task, TaskTemplate


class SubtaskInline(admin.TabularInline):
    model = Subtask
    extra = 0
    fields = ("order_index", "title", "completed", "completed_at", "source")
    ordering = ("order_index",)
    show_change_link = True


class ReminderInline(admin.TabularInline):
    model = Reminder
    extra = 0
    fields = ("type", "offset_minutes", "scheduled_at", "method", "fired", "fired_at")
    readonly_fields = ("fired_at",)
    raw_id_fields = ("user",)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "user",
        "priority",
        "due_date",
        "completed",
        "completed_by",
        "archived",
        "hidden",
        "subtasks",
        "version",
        "created_at",
    )
    list_filter = (
        "completed",
        "completed_by",
        "archived",
        "hidden",
        "priority",
        ("template", admin.EmptyFieldListFilter),
    )
    search_fields = ("title", "description", "user__email", "=id")
    list_select_related = ("user",)
    raw_id_fields = ("user", "template")
    readonly_fields = ("id", "version", "completion_counted", "focus_time_seconds", "created_at", "updated_at")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (SubtaskInline, ReminderInline)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        return super().get_queryset(request).annotate(subtask_total=Count("subtasks"))

    @admin.display(description="subtasks", ordering="subtask_total")
    def subtasks(self, obj: Task) -> int:
        return obj.subtask_total


@admin.register(Subtask)
class SubtaskAdmin(admin.ModelAdmin):
    list_display = ("title", "task", "task_owner", "order_index", "completed", "completed_at", "source", "created_at")
    list_filter = ("completed", "source")
    search_fields = ("title", "task__title", "task__user__email", "=id", "=task__id")
    list_select_related = ("task__user",)
    raw_id_fields = ("task",)
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("task_id", "order_index")

    @admin.display(description="owner", ordering="task__user__email")
    def task_owner(self, obj: Subtask) -> str:
        return obj.task.user.email


@admin.register(TaskTemplate)
class TaskTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "user", "rrule", "priority", "next_due", "active", "created_at")
    list_filter = ("active", "priority")
    search_fields = ("title", "description", "rrule", "user__email", "=id")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("-created_at",)


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ("task", "user", "type", "offset_minutes", "scheduled_at", "method", "fired", "fired_at")
    list_filter = ("type", "method", "fired")
    search_fields = ("task__title", "user__email", "=id", "=task__id")
    list_select_related = ("task", "user")
    raw_id_fields = ("user", "task")
    readonly_fields = ("id", "created_at", "updated_at")
    date_hierarchy = "scheduled_at"
    ordering = ("-scheduled_at",)


@admin.register(FocusSession)
class FocusSessionAdmin(admin.ModelAdmin):
    list_display = ("task", "user", "started_at", "ended_at", "duration_seconds", "is_open")
    list_filter = (("ended_at", admin.EmptyFieldListFilter),)
    search_fields = ("task__title", "user__email", "=id", "=task__id")
    list_select_related = ("task", "user")
    raw_id_fields = ("user", "task")
    readonly_fields = ("id", "created_at", "updated_at")
    date_hierarchy = "started_at"
    ordering = ("-started_at",)

    @admin.display(boolean=True, description="open")
    def is_open(self, obj: FocusSession) -> bool:
        return obj.ended_at is None
