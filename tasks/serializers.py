"""Input validation and output shape of tasks, subtasks, reminders and focus sessions.

Output serializers declare their fields (so the OpenAPI schema documents them) but
render through a hand-written `to_representation`: a list page of 100 tasks is then
plain dict building, without DRF's per-field machinery.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from perpetua.api.serializers import DateTimeField, StrictSerializerMixin, format_datetime
from tasks.models import CompletedBy, Priority, ReminderMethod, ReminderType, Source


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


# --- output -----------------------------------------------------------------------------


class UnlockPerkSerializer(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.IntegerField()


class UnlockSerializer(serializers.Serializer):
    """An achievement unlocked by a completion (CONTRACT §3)."""

    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    perk = UnlockPerkSerializer(allow_null=True)


class SubtaskSerializer(serializers.Serializer):
    """Subtask object (CONTRACT §4, plus the owner's `user_id` per §0)."""

    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    title = serializers.CharField()
    completed = serializers.BooleanField()
    completed_at = DateTimeField(allow_null=True)
    order_index = serializers.IntegerField(min_value=0)
    source = serializers.ChoiceField(choices=Source.choices)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, s: Any) -> dict[str, Any]:
        return {
            "id": str(s.id),
            "user_id": str(s.task.user_id),  # the parent is loaded with every subtask read
            "task_id": str(s.task_id),
            "title": s.title,
            "completed": s.completed,
            "completed_at": format_datetime(s.completed_at),
            "order_index": s.order_index,
            "source": s.source,
            "created_at": format_datetime(s.created_at),
            "updated_at": format_datetime(s.updated_at),
        }


class ReminderSerializer(serializers.Serializer):
    """Reminder object (CONTRACT §6, plus `user_id` and `updated_at` per §0), alone or in a task detail."""

    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=ReminderType.choices)
    offset_minutes = serializers.IntegerField(allow_null=True)
    scheduled_at = DateTimeField()
    method = serializers.ChoiceField(choices=ReminderMethod.choices)
    fired = serializers.BooleanField()
    fired_at = DateTimeField(allow_null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, r: Any) -> dict[str, Any]:
        return {
            "id": str(r.id),
            "user_id": str(r.user_id),
            "task_id": str(r.task_id),
            "type": r.type,
            "offset_minutes": r.offset_minutes,
            "scheduled_at": format_datetime(r.scheduled_at),
            "method": r.method,
            "fired": r.fired,
            "fired_at": format_datetime(r.fired_at),
            "created_at": format_datetime(r.created_at),
            "updated_at": format_datetime(r.updated_at),
        }


class TaskSerializer(serializers.Serializer):
    """Task object (CONTRACT §3). Expects the `subtask_count` annotations of
    `tasks.selectors.task_queryset()` (0 when absent)."""

    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    template_id = serializers.UUIDField(allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    priority = serializers.ChoiceField(choices=Priority.choices)
    due_date = DateTimeField(allow_null=True)
    estimated_duration = serializers.IntegerField(allow_null=True, min_value=1, max_value=720)
    focus_time_seconds = serializers.IntegerField(min_value=0)
    completed = serializers.BooleanField()
    completed_at = DateTimeField(allow_null=True)
    completed_by = serializers.ChoiceField(choices=CompletedBy.choices, allow_null=True)
    hidden = serializers.BooleanField()
    archived = serializers.BooleanField()
    subtask_count = serializers.IntegerField(min_value=0)
    subtask_completed_count = serializers.IntegerField(min_value=0)
    version = serializers.IntegerField(min_value=1)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, t: Any) -> dict[str, Any]:
        return {
            "id": str(t.id),
            "user_id": str(t.user_id),
            "template_id": _id(t.template_id),
            "title": t.title,
            "description": t.description,
            "priority": t.priority,
            "due_date": format_datetime(t.due_date),
            "estimated_duration": t.estimated_duration,
            "focus_time_seconds": t.focus_time_seconds,
            "completed": t.completed,
            "completed_at": format_datetime(t.completed_at),
            "completed_by": t.completed_by,
            "hidden": t.hidden,
            "archived": t.archived,
            "subtask_count": getattr(t, "subtask_count", 0),
            "subtask_completed_count": getattr(t, "subtask_completed_count", 0),
            "version": t.version,
            "created_at": format_datetime(t.created_at),
            "updated_at": format_datetime(t.updated_at),
        }


class TaskDetailSerializer(TaskSerializer):
    """Task plus its subtasks (by order_index) and reminders; expects them prefetched."""

    subtasks = SubtaskSerializer(many=True)
    reminders = ReminderSerializer(many=True)

    def to_representation(self, t: Any) -> dict[str, Any]:
        data = super().to_representation(t)
        subtask = SubtaskSerializer()
        reminder = ReminderSerializer()
        data["subtasks"] = [subtask.to_representation(s) for s in t.subtasks.all()]
        data["reminders"] = [reminder.to_representation(r) for r in t.reminders.all()]
        return data


class FocusSessionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    started_at = DateTimeField()
    ended_at = DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(allow_null=True, min_value=0)
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


# Response envelopes, for the schema (CONTRACT §0, §3, §4, §11).


class TaskEnvelopeSerializer(serializers.Serializer):
    data = TaskSerializer()


class TaskDetailEnvelopeSerializer(serializers.Serializer):
    data = TaskDetailSerializer()


class TaskPatchResponseSerializer(serializers.Serializer):
    data = TaskSerializer()
    unlocked_achievements = UnlockSerializer(many=True)


class ForceCompleteDataSerializer(serializers.Serializer):
    task = TaskSerializer()
    unlocked_achievements = UnlockSerializer(many=True)
    streak = serializers.IntegerField(min_value=0)


class ForceCompleteResponseSerializer(serializers.Serializer):
    data = ForceCompleteDataSerializer()


class TaskDeletedDataSerializer(serializers.Serializer):
    tombstone_id = serializers.UUIDField()
    recoverable_until = DateTimeField()


class TaskDeletedResponseSerializer(serializers.Serializer):
    data = TaskDeletedDataSerializer()


class SubtaskEnvelopeSerializer(serializers.Serializer):
    data = SubtaskSerializer()


class SubtaskListEnvelopeSerializer(serializers.Serializer):
    data = SubtaskSerializer(many=True)


class SubtaskPatchResponseSerializer(serializers.Serializer):
    data = SubtaskSerializer()
    task_completed = serializers.BooleanField()
    unlocked_achievements = UnlockSerializer(many=True)


class FocusSessionEnvelopeSerializer(serializers.Serializer):
    data = FocusSessionSerializer()


class FocusSessionActiveEnvelopeSerializer(serializers.Serializer):
    data = FocusSessionSerializer(allow_null=True)


# --- input --------------------------------------------------------------------------------


class TaskCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /tasks. Tier limits (description length, active tasks) and the due-date
    window are enforced by `tasks.services.task_create`."""

    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    due_date = serializers.DateTimeField(required=False, allow_null=True)
    estimated_duration = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=720)
    hidden = serializers.BooleanField(required=False)


class TaskUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """PATCH|PUT /tasks/{id}: every field optional except `version` (CONTRACT §0, §3).

    `rrule` + `scope` edit the recurrence of the task's template (§5).
    """

    version = serializers.IntegerField(min_value=1)
    title = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    due_date = serializers.DateTimeField(required=False, allow_null=True)
    estimated_duration = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=720)
    hidden = serializers.BooleanField(required=False)
    completed = serializers.BooleanField(required=False)
    archived = serializers.BooleanField(required=False)
    rrule = serializers.CharField(required=False, max_length=500)
    scope = serializers.ChoiceField(choices=[("future", "future"), ("template", "template")], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("rrule" in attrs) != ("scope" in attrs):
            missing = "scope" if "rrule" in attrs else "rrule"
            raise serializers.ValidationError({missing: ["rrule and scope must be given together."]})
        return attrs


class VersionSerializer(StrictSerializerMixin, serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class SubtaskCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200)


class SubtaskUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    title = serializers.CharField(required=False, max_length=200)
    completed = serializers.BooleanField(required=False)


class SubtaskReorderSerializer(StrictSerializerMixin, serializers.Serializer):
    subtask_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=True, max_length=100)


class FocusStartSerializer(StrictSerializerMixin, serializers.Serializer):
    task_id = serializers.UUIDField()


class FocusEndSerializer(StrictSerializerMixin, serializers.Serializer):
    session_id = serializers.UUIDField(required=False)
    task_id = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("session_id" in attrs) == ("task_id" in attrs):
            raise serializers.ValidationError({"session_id": ["Give exactly one of session_id or task_id."]})
        return attrs
