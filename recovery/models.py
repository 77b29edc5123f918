"""The activity log and tombstones of deleted objects (CONTRACT §14)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ActivitySource(models.TextChoices):
    USER = "user", "User"
    AI = "ai", "AI"
    SYSTEM = "system", "System"


class ActivityEntry(models.Model):
    """One event in a user's activity log; append-only, purged after ACTIVITY_RETENTION_DAYS."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity_entries")
    entity_type = models.CharField(max_length=32)
    entity_id = models.UUIDField()
    action = models.CharField(max_length=64)
    source = models.CharField(max_length=6, choices=ActivitySource.choices, default=ActivitySource.USER)
    metadata = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "activity entries"
        indexes = [
            models.Index(fields=["user", "-created_at"], name="activity_user_created"),
            models.Index(fields=["user", "entity_type", "entity_id"], name="activity_user_entity"),
            # Lets GET /activity?entity_id= tell "another user's entity" (403) from "no entries".
            models.Index(fields=["entity_id"], name="activity_entity"),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.entity_id} {self.action}"


class TombstoneEntityType(models.TextChoices):
    TASK = "task", "Task"
    NOTE = "note", "Note"


class Tombstone(models.Model):
    """A snapshot of a hard-deleted task or note; at most MAX_TOMBSTONES per user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tombstones")
    entity_type = models.CharField(max_length=8, choices=TombstoneEntityType.choices)
    entity_id = models.UUIDField()
    payload = models.JSONField()
    created_at = models.DateTimeField()
    recoverable_until = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="tombstone_user_created")]

    def __str__(self) -> str:
        return f"{self.entity_type} {self.entity_id}"
