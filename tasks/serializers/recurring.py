"""Input validation and output shape of recurring templates (CONTRACT §5).

Field rules beyond types (trimmed title, tier description length, RRULE parsing) live
in `tasks.rules` and `tasks.rrule`, the one place of each rule.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from perpetua.api.serializers import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    IntegerField,
    StrictSerializerMixin,
    UUIDField,
    format_datetime,
)
from tasks.models import Priority
from tasks.rrule import RRULE_MAX_LENGTH


class TemplateSerializer(serializers.Serializer):
    """Template object (CONTRACT §5) plus `dtstart`, the rule's anchor."""

    id = UUIDField()
    user_id = UUIDField()
    title = CharField()
    description = CharField(allow_blank=True)
    priority = ChoiceField(choices=Priority.choices)
    estimated_duration = IntegerField(allow_null=True, min_value=1, max_value=720)
    rrule = CharField(help_text="RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO`.")
    dtstart = DateTimeField(help_text="Anchor of the recurrence; occurrences take its time of day.")
    next_due = DateTimeField(allow_null=True, help_text="Due date of the next generated instance.")
    active = BooleanField()
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, t: Any) -> dict[str, Any]:
        return {
            "id": str(t.id),
            "user_id": str(t.user_id),
            "title": t.title,
            "description": t.description,
            "priority": t.priority,
            "estimated_duration": t.estimated_duration,
            "rrule": t.rrule,
            "dtstart": format_datetime(t.dtstart),
            "next_due": format_datetime(t.next_due),
            "active": t.active,
            "created_at": format_datetime(t.created_at),
            "updated_at": format_datetime(t.updated_at),
        }


class TemplateEnvelopeSerializer(serializers.Serializer):
    data = TemplateSerializer()


class TemplateCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /templates."""

    title = CharField(max_length=200)
    description = CharField(required=False, allow_blank=True, trim_whitespace=False)
    priority = ChoiceField(choices=Priority.choices, required=False)
    estimated_duration = IntegerField(required=False, allow_null=True, min_value=1, max_value=720)
    rrule = CharField(max_length=RRULE_MAX_LENGTH, help_text="One RFC 5545 RRULE.")
    dtstart = DateTimeField(required=False, help_text="Anchor of the recurrence (default: now).")


class TemplateUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """PATCH /templates/{id}: every field optional; `active` pauses/resumes."""

    title = CharField(required=False, max_length=200)
    description = CharField(required=False, allow_blank=True, trim_whitespace=False)
    priority = ChoiceField(choices=Priority.choices, required=False)
    estimated_duration = IntegerField(required=False, allow_null=True, min_value=1, max_value=720)
    rrule = CharField(required=False, max_length=RRULE_MAX_LENGTH)
    dtstart = DateTimeField(required=False)
    active = BooleanField(required=False)
