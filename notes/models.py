"""Notes (CONTRACT §7): short texts, optionally with a voice recording (Pro)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

CONTENT_MAX_LENGTH = 2000
VOICE_URL_MAX_LENGTH = 1000


class TranscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notes")
    content = models.TextField()
    archived = models.BooleanField(default=False)
    voice_url = models.CharField(max_length=VOICE_URL_MAX_LENGTH, null=True, blank=True)
    voice_duration_seconds = models.PositiveSmallIntegerField(null=True, blank=True)
    transcription_status = models.CharField(max_length=9, choices=TranscriptionStatus.choices, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(GreaterThanOrEqual(Length("content"), 1))
                & Q(LessThanOrEqual(Length("content"), CONTENT_MAX_LENGTH)),
                name="note_content_length",
            ),
            models.CheckConstraint(
                condition=Q(voice_duration_seconds__isnull=True) | Q(voice_duration_seconds__gte=1),
                name="note_voice_duration_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="note_user_created"),
            models.Index(fields=["user", "archived"], name="note_user_archived"),
        ]

    def __str__(self) -> str:
        return self.content[:50]
