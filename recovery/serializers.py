"""Output shapes of tombstones and activity entries (CONTRACT §14)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from perpetua.api.serializers import DateTimeField, ModelSerializer
from recovery.models import ActivityEntry, Tombstone


def tombstone_title(payload: Any, *, entity_type: str) -> str | None:
    """The deleted object's title: a top-level `title`, or the one of the object kept
    under its entity type's key (the snapshot convention of `recovery.registry`)."""
    if not isinstance(payload, dict):
        return None
    for source in (payload, payload.get(entity_type)):
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
        return tombstone_title(obj.payload, entity_type=obj.entity_type)


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
