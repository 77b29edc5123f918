"""Input validation and output shape of reminders (CONTRACT §6).

The combination rules (relative types need a due date and an offset, absolute a
future `scheduled_at`) live in `tasks.services.reminders`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import serializers

from perpetua.api.serializers import (
    BooleanField,
    ChoiceField,
    DateTimeField,
    IntegerField,
    StrictSerializerMixin,
    UUIDField,
    format_datetime,
)
from tasks.models import ReminderMethod, ReminderType


class ReminderSerializer(serializers.Serializer):
    """Reminder object (CONTRACT §6, plus `user_id` and `updated_at` per §0), alone or in a task detail."""

    id = UUIDField()
    user_id = UUIDField()
    task_id = UUIDField()
    type = ChoiceField(choices=ReminderType.choices)
    offset_minutes = IntegerField(allow_null=True)
    scheduled_at = DateTimeField()
    method = ChoiceField(choices=ReminderMethod.choices)
    fired = BooleanField()
    fired_at = DateTimeField(allow_null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, r: Any) -> dict[str, Any]:
        return reminder_data(r if isinstance(r, Mapping) else vars(r))


def reminder_data(r: Mapping[str, Any]) -> dict[str, Any]:
    """The reminder object of a row: a model instance's `vars()` or a row dict."""
    return {
        "id": str(r["id"]),
        "user_id": str(r["user_id"]),
        "task_id": str(r["task_id"]),
        "type": r["type"],
        "offset_minutes": r["offset_minutes"],
        "scheduled_at": format_datetime(r["scheduled_at"]),
        "method": r["method"],
        "fired": r["fired"],
        "fired_at": format_datetime(r["fired_at"]),
        "created_at": format_datetime(r["created_at"]),
        "updated_at": format_datetime(r["updated_at"]),
    }


class ReminderEnvelopeSerializer(serializers.Serializer):
    data = ReminderSerializer()


def _offset_field(**kwargs: Any) -> IntegerField:
    bound = settings.REMINDER_MAX_OFFSET_MINUTES
    return IntegerField(
        allow_null=True,
        min_value=-bound,
        max_value=bound,
        help_text="Minutes before/after the due date; the sign is ignored (-15 and 15 both mean 15). "
        "`absolute`: 0 or null (stored null).",
        **kwargs,
    )


class ReminderCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /tasks/{task_id}/reminders."""

    type = ChoiceField(choices=ReminderType.choices)
    offset_minutes = _offset_field(required=False)
    scheduled_at = DateTimeField(
        required=False,
        allow_null=True,
        help_text="Required for `absolute`; for `before`/`after` accepted and ignored (computed from the due date).",
    )
    method = ChoiceField(choices=ReminderMethod.choices, required=False)


class ReminderCreateForTaskSerializer(ReminderCreateSerializer):
    """POST /reminders: the same body with the task in it (CONTRACT §6)."""

    task_id = UUIDField(help_text="The user's task (403 for another user's, 404 when unknown).")


class ReminderUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """PATCH /reminders/{id}: every field optional; the result must be valid as a whole."""

    type = ChoiceField(choices=ReminderType.choices, required=False)
    offset_minutes = _offset_field(required=False)
    scheduled_at = DateTimeField(required=False, allow_null=True)
    method = ChoiceField(choices=ReminderMethod.choices, required=False)
