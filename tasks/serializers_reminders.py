"""Input validation and output shape of reminders (CONTRACT §6).

The combination rules (relative types need a due date and an offset, absolute a
future `scheduled_at`) live in `tasks.reminders`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from perpetua.api.serializers import StrictSerializerMixin
from tasks.models import ReminderMethod, ReminderType
from tasks.serializers import ReminderSerializer


class ReminderEnvelopeSerializer(serializers.Serializer):
    data = ReminderSerializer()


def _offset_field(**kwargs: Any) -> serializers.IntegerField:
    bound = settings.REMINDER_MAX_OFFSET_MINUTES
    return serializers.IntegerField(
        allow_null=True,
        min_value=-bound,
        max_value=bound,
        help_text="Minutes before/after the due date; the sign is ignored (-15 and 15 both mean 15).",
        **kwargs,
    )


class ReminderCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /tasks/{task_id}/reminders."""

    type = serializers.ChoiceField(choices=ReminderType.choices)
    offset_minutes = _offset_field(required=False)
    scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Required for `absolute`; computed for `before`/`after`."
    )
    method = serializers.ChoiceField(choices=ReminderMethod.choices, required=False)


class ReminderUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """PATCH /reminders/{id}: every field optional; the result must be valid as a whole."""

    type = serializers.ChoiceField(choices=ReminderType.choices, required=False)
    offset_minutes = _offset_field(required=False)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    method = serializers.ChoiceField(choices=ReminderMethod.choices, required=False)
