"""In-app notifications (CONTRACT §13)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

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
    # The reminder's task (CONTRACT §13). A plain id, not a foreign key: notifications sit
    # below tasks, and the notification outlives a deleted (maybe later recovered) task.
    task_id = models.UUIDField(null=True, blank=True)
    read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read", "-created_at"], name="notification_user_read")]

    def __str__(self) -> str:
        return self.title


ENDPOINT_MAX_LENGTH = 2000


class PushSubscription(models.Model):
    """A browser's Web Push subscription (CONTRACT §13), as `PushSubscription.toJSON()` gives it.

    The endpoint is globally unique: it names one browser profile's push channel, so when
    another user signs in on that browser and subscribes again, the row moves to them (the
    previous user must not keep receiving pushes on a browser they left).
    `updated_at` is the last time the browser (re)registered it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.CharField(max_length=ENDPOINT_MAX_LENGTH, unique=True)
    p256dh = models.CharField(max_length=100, help_text="The browser's P-256 public key (base64url, 65 bytes).")
    auth = models.CharField(max_length=40, help_text="The browser's auth secret (base64url, 16 bytes).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["user", "-updated_at"], name="push_subscription_user")]

    def __str__(self) -> str:
        parts = urlsplit(self.endpoint)  # the path is the subscription's secret: not displayed
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
