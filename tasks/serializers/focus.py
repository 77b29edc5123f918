"""Input validation and output shape of focus sessions (CONTRACT §11)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from perpetua.api.serializers import DateTimeField, IntegerField, StrictSerializerMixin, UUIDField, format_datetime


class FocusSessionSerializer(serializers.Serializer):
    id = UUIDField()
    user_id = UUIDField()
    task_id = UUIDField()
    started_at = DateTimeField()
    ended_at = DateTimeField(allow_null=True)
    duration_seconds = IntegerField(allow_null=True, min_value=0)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, f: Any) -> dict[str, Any]:
        return {
            "id": str(f.id),
            "user_id": str(f.user_id),
            "task_id": str(f.task_id),
            "started_at": format_datetime(f.started_at),
            "ended_at": format_datetime(f.ended_at),
            "duration_seconds": f.duration_seconds,
            "created_at": format_datetime(f.created_at),
            "updated_at": format_datetime(f.updated_at),
        }


# Response envelopes, for the schema (CONTRACT §0, §11).


class FocusSessionEnvelopeSerializer(serializers.Serializer):
    data = FocusSessionSerializer()


class FocusSessionActiveEnvelopeSerializer(serializers.Serializer):
    data = FocusSessionSerializer(allow_null=True)


# --- input --------------------------------------------------------------------------------


class FocusStartSerializer(StrictSerializerMixin, serializers.Serializer):
    task_id = UUIDField()


class FocusEndSerializer(StrictSerializerMixin, serializers.Serializer):
    session_id = UUIDField(required=False)
    task_id = UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("session_id" in attrs) == ("task_id" in attrs):
            raise serializers.ValidationError({"session_id": ["Give exactly one of session_id or task_id."]})
        return attrs
