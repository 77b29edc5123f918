"""Shapes of `POST /ai/confirm-action` (CONTRACT §8). Each `action_data` is validated by the
plain endpoint's own serializer (the same fields, types and bounds), narrowed to what the
action may carry; the services then apply the same rules as the plain endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ai.models import ActionType
from gamification.serializers import AchievementUnlockSerializer
from notes.serializers import NoteSerializer
from perpetua.api.serializers import ChoiceField, StrictSerializerMixin, UUIDField
from tasks.serializers.subtasks import SubtaskCreateSerializer, SubtaskSerializer
from tasks.serializers.tasks import TaskCreateSerializer, TaskSerializer, TaskUpdateSerializer, VersionSerializer


class ConfirmActionRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    action_type = ChoiceField(choices=ActionType.choices)
    action_data = serializers.DictField(help_text="By action_type, as CONTRACT §8 lists.")


class CompleteTaskActionSerializer(VersionSerializer):
    task_id = UUIDField()


class UpdateTaskActionSerializer(TaskUpdateSerializer):
    task_id = UUIDField()
    hidden = None
    completed = None
    archived = None
    rrule = None
    scope = None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs


class SubtaskTitleSerializer(SubtaskCreateSerializer):
    order_index = None


class CreateSubtasksActionSerializer(StrictSerializerMixin, serializers.Serializer):
    task_id = UUIDField()
    subtasks = SubtaskTitleSerializer(many=True, min_length=1, max_length=50)


class CreateTaskActionSerializer(TaskCreateSerializer):
    hidden = None
    note_id = UUIDField(required=False, help_text="Converts this note: archived, counted (§7).")


ACTION_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "complete_task": CompleteTaskActionSerializer,
    "update_task": UpdateTaskActionSerializer,
    "create_subtasks": CreateSubtasksActionSerializer,
    "create_task": CreateTaskActionSerializer,
}


class ConfirmedDataSerializer(serializers.Serializer):
    action_type = ChoiceField(choices=ActionType.choices)
    task = TaskSerializer(required=False, help_text="The created or changed task (not for create_subtasks).")
    task_id = UUIDField(required=False, help_text="create_subtasks: the parent task.")
    subtasks = SubtaskSerializer(many=True, required=False, help_text="create_subtasks: the created subtasks.")
    note = NoteSerializer(required=False, help_text="create_task with note_id: the archived note.")


class ConfirmActionResponseSerializer(serializers.Serializer):
    data = ConfirmedDataSerializer()
    unlocked_achievements = AchievementUnlockSerializer(many=True)
