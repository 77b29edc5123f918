"""Shapes of `POST /ai/generate-subtasks` (CONTRACT §8)."""

from __future__ import annotations

from rest_framework import serializers

from perpetua.api.serializers import BooleanField, CharField, IntegerField, StrictSerializerMixin, UUIDField


class GenerateSubtasksRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    task_id = UUIDField()


class SuggestedSubtaskSerializer(serializers.Serializer):
    title = CharField(min_length=1, max_length=200)


class GenerateSubtasksDataSerializer(serializers.Serializer):
    suggested_subtasks = SuggestedSubtaskSerializer(many=True, help_text="At most the room left on the task.")
    credits_used = IntegerField(min_value=0)
    credits_remaining = IntegerField(min_value=0)
    ai_request_warning = BooleanField()


class GenerateSubtasksEnvelopeSerializer(serializers.Serializer):
    data = GenerateSubtasksDataSerializer()
