"""Serializer pieces the tasks app's subjects share: a strict integer input field and
the body of every DELETE that leaves no tombstone."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: DRF's IntegerField also takes `"2"`, `true` and
    `2.0`, which for a precondition (`version`) or a position (`order_index`) hides a
    client bug instead of reporting it."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class DeletedSerializer(serializers.Serializer):
    """`data` of a DELETE of a subtask, reminder or template (CONTRACT §0: 200 with a
    JSON body, never 204 — the SPA parses every success body)."""

    id = serializers.UUIDField()
    deleted = serializers.BooleanField(help_text="Always true.")


class DeletedEnvelopeSerializer(serializers.Serializer):
    data = DeletedSerializer()


def deleted_data(pk: Any) -> dict[str, Any]:
    return {"id": str(pk), "deleted": True}
