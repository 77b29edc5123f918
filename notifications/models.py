"""In-app notifications (CONTRACT §13)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

TITLE_MAX_LENGTH = 100
BODY_MAX_LENGTH = 500


class NotificationType(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    ACHIEVEMENT = "achievement", "Achievement"
    SUBSCRIPTION = "subscription", "Subscription"
    SYSTEM = "system", "System"


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    type = models.CharField(max_length=12, choices=NotificationType.choices)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    body = models.CharField(max_length=BODY_MAX_LENGTH, blank=True, default="")
    action_url = models.CharField(max_length=1000, null=True, blank=True)
    read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read", "-created_at"], name="notification_user_read")]

    def __str__(self) -> str:
        return self.title
