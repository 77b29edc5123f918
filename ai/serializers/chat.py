"""Shapes of `POST /ai/chat` and `/ai/chat/stream` (CONTRACT §8, SPA.md §12)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from ai.models import ActionType
from perpetua.api.serializers import (
    BooleanField,
    CharField,
    ChoiceField,
    IntegerField,
    StrictSerializerMixin,
    UUIDField,
)

MESSAGE_MAX_LENGTH = 2000


class ChatContextSerializer(StrictSerializerMixin, serializers.Serializer):
    include_tasks = BooleanField(required=False, default=False)
    task_limit = IntegerField(required=False, default=10, min_value=1, max_value=settings.AI_MAX_TASK_CONTEXT)


class ChatRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    message = CharField(max_length=MESSAGE_MAX_LENGTH, trim_whitespace=False)
    context = ChatContextSerializer(required=False)
    task_id = UUIDField(required=False, allow_null=True, help_text="Counted per session (§8).")

    def validate_message(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Must not be empty.")
        return value


class SuggestedActionSerializer(serializers.Serializer):
    type = ChoiceField(choices=ActionType.choices)
    task_id = UUIDField(required=False, help_text="Omitted when the action names no task.")
    description = CharField()
    data = serializers.DictField(help_text="The `action_data` to send to /ai/confirm-action with it.")


class ChatDataSerializer(serializers.Serializer):
    response = CharField()
    suggested_actions = SuggestedActionSerializer(many=True)
    credits_used = IntegerField(min_value=0)
    credits_remaining = IntegerField(min_value=0)
    ai_request_warning = BooleanField(help_text="True from the 5th request on one task in a session.")


class ChatEnvelopeSerializer(serializers.Serializer):
    data = ChatDataSerializer()
