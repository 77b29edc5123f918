"""Rows owned by the cross-cutting API conventions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    """One `Idempotency-Key` a user sent on an unsafe request (CONTRACT §0, Idempotency).

    Inserted `in_flight` before the view runs (the unique constraint turns a concurrent
    duplicate into a 409), completed with the response's status, content type and
    rendered body afterwards.
    Rows older than `IDEMPOTENCY_TTL_HOURS` are ignored and purged daily.
    """

    class State(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        COMPLETE = "complete", "Complete"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.UUIDField()
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, full path and raw body")
    state = models.CharField(max_length=16, choices=State.choices, default=State.IN_FLIGHT)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The response exactly as first sent (rendered bytes): replays are byte-identical and any
    # text the JSON renderer could write can be stored (jsonb refuses \u0000).
    response_content = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True, default="")
    replayable = models.BooleanField(
        default=True, help_text="False when the first response was streamed and cannot be replayed"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "idempotency key"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_user_key_uniq")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
