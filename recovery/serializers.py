"""Output shapes of tombstones and activity entries (CONTRACT §14)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from perpetua.api.serializers import DateTimeField, ModelSerializer, UUIDField
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
    user_id = UUIDField(read_only=True)
    title = serializers.SerializerMethodField()
    # A tombstone is never changed after it is written (CONTRACT §0 wants updated_at).
    updated_at = DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Tombstone
        fields = ["id", "user_id", "entity_type", "entity_id", "title", "created_at", "updated_at", "recoverable_until"]
        read_only_fields = fields

    def get_title(self, obj: Tombstone) -> str | None:
        return tombstone_title(obj.payload, entity_type=obj.entity_type)


def _dashed_uuid(value: str | None) -> str | None:
    """A stored request id as a canonical dashed UUID, else None: an incoming `X-Request-ID`
    may be any token, and the SPA accepts only a UUID or null (CONTRACT §14)."""
    if not value:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    if parsed.variant != uuid.RFC_4122 or not 1 <= (parsed.version or 0) <= 8:
        return None  # UUID-shaped but not a UUID the SPA's validator accepts
    return str(parsed)


class ActivityEntrySerializer(ModelSerializer):
    """An activity entry (CONTRACT §14); `extra_data` is the SPA's name for `metadata`."""

    user_id = UUIDField(read_only=True)
    metadata = serializers.JSONField(read_only=True)
    extra_data = serializers.JSONField(source="metadata", read_only=True, help_text="= `metadata`.")
    request_id = serializers.SerializerMethodField(
        help_text="The request's X-Request-ID as a dashed UUID; null when the request carried a non-UUID id."
    )

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
            "extra_data",
            "request_id",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(UUIDField(allow_null=True))
    def get_request_id(self, entry: ActivityEntry) -> str | None:
        return _dashed_uuid(entry.request_id)
