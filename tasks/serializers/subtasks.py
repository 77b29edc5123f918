"""Input validation and output shape of subtasks (CONTRACT §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from gamification.serializers import AchievementUnlockSerializer
from perpetua.api.serializers import (
    BooleanField,
    BoundedListField,
    CharField,
    ChoiceField,
    DateTimeField,
    IntegerField,
    StrictSerializerMixin,
    UUIDField,
    format_datetime,
)
from tasks.models import Source

# More than any tier's subtasks per task (10 on Pro, plus perks): a longer list cannot be a permutation.
SUBTASK_IDS_MAX = 100


class SubtaskSerializer(serializers.Serializer):
    """Subtask object (CONTRACT §4, plus the owner's `user_id` per §0)."""

    id = UUIDField()
    user_id = UUIDField()
    task_id = UUIDField()
    title = CharField()
    completed = BooleanField()
    completed_at = DateTimeField(allow_null=True)
    order_index = IntegerField(min_value=0)
    source = ChoiceField(choices=Source.choices)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, s: Any) -> dict[str, Any]:
        # The parent is loaded with every subtask read; its owner is the subtask's.
        return subtask_data({**vars(s), "user_id": s.task.user_id})


def subtask_data(s: Mapping[str, Any]) -> dict[str, Any]:
    """The subtask object of a row (column → value) that carries its task's `user_id`."""
    return {
        "id": str(s["id"]),
        "user_id": str(s["user_id"]),
        "task_id": str(s["task_id"]),
        "title": s["title"],
        "completed": s["completed"],
        "completed_at": format_datetime(s["completed_at"]),
        "order_index": s["order_index"],
        "source": s["source"],
        "created_at": format_datetime(s["created_at"]),
        "updated_at": format_datetime(s["updated_at"]),
    }


# Response envelopes, for the schema (CONTRACT §0, §4).


class SubtaskEnvelopeSerializer(serializers.Serializer):
    data = SubtaskSerializer()


@extend_schema_serializer(many=False)  # the list action answers one envelope, not an array of them
class SubtaskListEnvelopeSerializer(serializers.Serializer):
    data = SubtaskSerializer(many=True)


class SubtaskPatchResponseSerializer(serializers.Serializer):
    data = SubtaskSerializer()
    task_completed = BooleanField()
    unlocked_achievements = AchievementUnlockSerializer(many=True)


# --- input --------------------------------------------------------------------------------


class SubtaskCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    title = CharField(max_length=200)
    order_index = IntegerField(
        required=False,
        min_value=0,
        help_text="Insert at this position (clamped to the number of subtasks; the others move down). "
        "Omitted: appended.",
    )


class SubtaskUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    title = CharField(required=False, max_length=200)
    completed = BooleanField(required=False)


class SubtaskReorderSerializer(StrictSerializerMixin, serializers.Serializer):
    # The length is checked before any item: a 200 000-item list is refused at once.
    subtask_ids = BoundedListField(child=UUIDField(), allow_empty=True, max_length=SUBTASK_IDS_MAX)
