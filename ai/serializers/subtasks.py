"""Shapes of `POST /ai/generate-subtasks` (CONTRACT §8)."""

from __future__ import annotations

from rest_framework import serializers

from perpetua.api.serializers import StrictSerializerMixin


class GenerateSubtasksRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    task_id = serializers.UUIDField()


class SuggestedSubtaskSerializer(serializers.Serializer):
    title = serializers.CharField(min_length=1, max_length=200)


class GenerateSubtasksDataSerializer(serializers.Serializer):
    suggested_subtasks = SuggestedSubtaskSerializer(many=True, help_text="At most the room left on the task.")
    credits_used = serializers.IntegerField(min_value=0)
    credits_remaining = serializers.IntegerField(min_value=0)
    ai_request_warning = serializers.BooleanField()


class GenerateSubtasksEnvelopeSerializer(serializers.Serializer):
    data = GenerateSubtasksDataSerializer()
