"""Input validation and output shape of tasks (CONTRACT §3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from gamification.serializers import AchievementUnlockSerializer
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
from tasks.models import CompletedBy, Priority
from tasks.rrule import RRULE_MAX_LENGTH
from tasks.rules import SCOPES
from tasks.serializers.reminders import ReminderSerializer, reminder_data
from tasks.serializers.subtasks import SubtaskSerializer, subtask_data


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


class TaskSerializer(serializers.Serializer):
    """Task object (CONTRACT §3). Expects the `subtask_count` annotations of
    `tasks.selectors.tasks.task_queryset()` (0 when absent)."""

    id = UUIDField()
    user_id = UUIDField()
    template_id = UUIDField(allow_null=True)
    title = CharField()
    description = CharField(allow_blank=True)
    priority = ChoiceField(choices=Priority.choices)
    due_date = DateTimeField(allow_null=True)
    estimated_duration = IntegerField(allow_null=True, min_value=1, max_value=720)
    focus_time_seconds = IntegerField(min_value=0)
    completed = BooleanField()
    completed_at = DateTimeField(allow_null=True)
    completed_by = ChoiceField(choices=CompletedBy.choices, allow_null=True)
    hidden = BooleanField()
    archived = BooleanField()
    subtask_count = IntegerField(min_value=0)
    subtask_completed_count = IntegerField(min_value=0)
    version = IntegerField(min_value=1)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, t: Any) -> dict[str, Any]:
        return task_data(t if isinstance(t, Mapping) else vars(t))


def task_data(t: Mapping[str, Any]) -> dict[str, Any]:
    """The task object of a row: a model instance's `vars()` or a row of `tasks.selectors.sql`."""
    return {
        "id": str(t["id"]),
        "user_id": str(t["user_id"]),
        "template_id": _id(t["template_id"]),
        "title": t["title"],
        "description": t["description"],
        "priority": t["priority"],
        "due_date": format_datetime(t["due_date"]),
        "estimated_duration": t["estimated_duration"],
        "focus_time_seconds": t["focus_time_seconds"],
        "completed": t["completed"],
        "completed_at": format_datetime(t["completed_at"]),
        "completed_by": t["completed_by"],
        "hidden": t["hidden"],
        "archived": t["archived"],
        "subtask_count": t.get("subtask_count", 0),
        "subtask_completed_count": t.get("subtask_completed_count", 0),
        "version": t["version"],
        "created_at": format_datetime(t["created_at"]),
        "updated_at": format_datetime(t["updated_at"]),
    }


class TaskDetailSerializer(TaskSerializer):
    """Task plus its subtasks (by order_index) and reminders: renders the row of
    `tasks.selectors.sql.task_detail`."""

    subtasks = SubtaskSerializer(many=True)
    reminders = ReminderSerializer(many=True)

    def to_representation(self, t: Any) -> dict[str, Any]:
        return task_detail_data(t)


def task_detail_data(t: Mapping[str, Any]) -> dict[str, Any]:
    """The detail object of `tasks.selectors.sql.task_detail`'s row."""
    data = task_data(t)
    data["subtasks"] = [subtask_data(s) for s in t["subtasks"]]
    data["reminders"] = [reminder_data(r) for r in t["reminders"]]
    return data


# Response envelopes, for the schema (CONTRACT §0, §3).


class TaskEnvelopeSerializer(serializers.Serializer):
    data = TaskSerializer()


class TaskDetailEnvelopeSerializer(serializers.Serializer):
    data = TaskDetailSerializer()


class TaskPatchResponseSerializer(serializers.Serializer):
    data = TaskSerializer()
    unlocked_achievements = AchievementUnlockSerializer(many=True)


class ForceCompleteDataSerializer(serializers.Serializer):
    task = TaskSerializer()
    unlocked_achievements = AchievementUnlockSerializer(many=True)
    streak = IntegerField(min_value=0)


class ForceCompleteResponseSerializer(serializers.Serializer):
    data = ForceCompleteDataSerializer()


class TaskDeletedDataSerializer(serializers.Serializer):
    id = UUIDField(help_text="The deleted task's id.")
    tombstone_id = UUIDField()
    recoverable_until = DateTimeField()


class TaskDeletedResponseSerializer(serializers.Serializer):
    data = TaskDeletedDataSerializer()


# --- input --------------------------------------------------------------------------------


class TaskCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /tasks. Tier limits (description length, active tasks) and the due-date
    window are enforced by `tasks.services.tasks.task_create`."""

    title = CharField(max_length=200)
    description = CharField(required=False, allow_blank=True, trim_whitespace=False)
    priority = ChoiceField(choices=Priority.choices, required=False)
    due_date = DateTimeField(required=False, allow_null=True)
    estimated_duration = IntegerField(required=False, allow_null=True, min_value=1, max_value=720)
    hidden = BooleanField(required=False)


def _version_field() -> IntegerField:
    return IntegerField(
        required=False,
        min_value=1,
        help_text="Optional precondition (CONTRACT §0): the version last read; a stale one is 409 CONFLICT and "
        "changes nothing. Omitted: the write applies to the current row. Either way `version` goes up by 1.",
    )


class TaskUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """PATCH|PUT /tasks/{id}: every field optional, `version` too (CONTRACT §0, §3).

    `rrule` + `scope` edit the recurrence of the task's template (§5).
    """

    version = _version_field()
    title = CharField(required=False, max_length=200)
    description = CharField(required=False, allow_blank=True, trim_whitespace=False)
    priority = ChoiceField(choices=Priority.choices, required=False)
    due_date = DateTimeField(required=False, allow_null=True)
    estimated_duration = IntegerField(required=False, allow_null=True, min_value=1, max_value=720)
    hidden = BooleanField(required=False)
    completed = BooleanField(required=False)
    archived = BooleanField(required=False)
    rrule = CharField(required=False, max_length=RRULE_MAX_LENGTH)
    scope = ChoiceField(choices=SCOPES, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("rrule" in attrs) != ("scope" in attrs):
            missing = "scope" if "rrule" in attrs else "rrule"
            raise serializers.ValidationError({missing: ["rrule and scope must be given together."]})
        return attrs


class VersionSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /tasks/{id}/force-complete: `version` optional, as for PATCH (CONTRACT §0)."""

    version = _version_field()
