"""Tasks, subtasks, recurring templates, reminders and focus sessions (CONTRACT §3-§6, §11)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Length

models.CharField.register_lookup(Length)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class CompletedBy(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTO = "auto", "Auto"
    FORCE = "force", "Force"


class Source(models.TextChoices):
    USER = "user", "User"
    AI = "ai", "AI"


class TaskTemplate(models.Model):
    """A recurring task: an RFC 5545 RRULE from which instances (Tasks) are generated."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_templates")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    estimated_duration = models.PositiveSmallIntegerField(null=True, blank=True)
    rrule = models.CharField(max_length=500)
    dtstart = models.DateTimeField(help_text="Anchor of the recurrence (first occurrence).")
    next_due = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="tpl_user_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(title__length__gte=1), name="tpl_title_not_empty"),
            models.CheckConstraint(
                condition=models.Q(estimated_duration__isnull=True)
                | models.Q(estimated_duration__gte=1, estimated_duration__lte=720),
                name="tpl_estimated_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    template = models.ForeignKey(
        TaskTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="instances"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    due_date = models.DateTimeField(null=True, blank=True)
    estimated_duration = models.PositiveSmallIntegerField(null=True, blank=True)
    focus_time_seconds = models.PositiveIntegerField(default=0)
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.CharField(max_length=6, choices=CompletedBy.choices, null=True, blank=True)
    # Set once the completion has been counted by gamification, so reopen + re-complete
    # never counts twice (CONTRACT §11).
    completion_counted = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="task_user_created"),
            models.Index(fields=["user", "due_date"], name="task_user_due"),
            models.Index(
                fields=["user"],
                condition=models.Q(completed=False, archived=False),
                name="task_user_active",
            ),
            models.Index(fields=["template"], condition=models.Q(completed=False), name="task_template_open"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(title__length__gte=1), name="task_title_not_empty"),
            models.CheckConstraint(
                condition=models.Q(estimated_duration__isnull=True)
                | models.Q(estimated_duration__gte=1, estimated_duration__lte=720),
                name="task_estimated_duration_range",
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="task_version_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class Subtask(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="subtasks")
    title = models.CharField(max_length=200)
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    order_index = models.PositiveIntegerField()
    source = models.CharField(max_length=4, choices=Source.choices, default=Source.USER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task_id", "order_index"]
        constraints = [
            # Deferred so a reorder can permute indices inside one transaction.
            models.UniqueConstraint(
                fields=["task", "order_index"],
                name="subtask_task_order_unique",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.CheckConstraint(condition=models.Q(title__length__gte=1), name="subtask_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title


class ReminderType(models.TextChoices):
    BEFORE = "before", "Before due date"
    AFTER = "after", "After due date"
    ABSOLUTE = "absolute", "Absolute time"


class ReminderMethod(models.TextChoices):
    IN_APP = "in_app", "In-app"
    PUSH = "push", "Push"


class Reminder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reminders")
    type = models.CharField(max_length=8, choices=ReminderType.choices)
    offset_minutes = models.IntegerField(null=True, blank=True)
    scheduled_at = models.DateTimeField()
    method = models.CharField(max_length=6, choices=ReminderMethod.choices, default=ReminderMethod.IN_APP)
    fired = models.BooleanField(default=False)
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scheduled_at"]
        indexes = [
            models.Index(fields=["scheduled_at"], condition=models.Q(fired=False), name="reminder_due_unfired"),
            models.Index(fields=["task", "scheduled_at"], name="reminder_task_scheduled"),
        ]

    def __str__(self) -> str:
        return f"{self.type} reminder for {self.task_id}"


class FocusSession(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="focus_sessions")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="focus_sessions")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(ended_at__isnull=True), name="focus_one_open_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"focus on {self.task_id} at {self.started_at:%Y-%m-%d %H:%M}"
