"""Output shapes of tombstones and activity entries, and the /activity query (CONTRACT §14)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from perpetua.api.serializers import DateTimeField, ModelSerializer
from recovery.models import ActivityEntry, Tombstone


def tombstone_title(payload: Any) -> str | None:
    """The deleted object's title, wherever the owning app put it in the snapshot."""
    if not isinstance(payload, dict):
        return None
    for key in (None, "task", "note"):
        source = payload if key is None else payload.get(key)
        if isinstance(source, dict) and isinstance(source.get("title"), str):
            return source["title"]
    return None


class TombstoneSerializer(ModelSerializer):
    user_id = serializers.UUIDField(read_only=True)
    title = serializers.SerializerMethodField()
    # A tombstone is never changed after it is written (CONTRACT §0 wants updated_at).
    updated_at = DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Tombstone
        fields = ["id", "user_id", "entity_type", "entity_id", "title", "created_at", "updated_at", "recoverable_until"]
        read_only_fields = fields

    def get_title(self, obj: Tombstone) -> str | None:
        return tombstone_title(obj.payload)


class ActivityEntrySerializer(ModelSerializer):
    user_id = serializers.UUIDField(read_only=True)
    metadata = serializers.JSONField(read_only=True)

    class Meta:
        model = ActivityEntry
        fields = [
            "id",
            "user_id",
            "entity_type",
            "entity_id",
            "action",
            "source",
            "metadata",
            "request_id",
            "created_at",
        ]
        read_only_fields = fields


class ActivityQuerySerializer(serializers.Serializer):
    entity_type = serializers.CharField(required=False, max_length=32, help_text="e.g. task, subtask, note")
    entity_id = serializers.UUIDField(required=False)
