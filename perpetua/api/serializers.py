"""Serializer building blocks shared by every app: the contract's timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models
from rest_framework import serializers


def format_datetime(value: datetime | None) -> str | None:
    """UTC ISO-8601 with millisecond precision and a `Z` suffix (CONTRACT §0)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return (  # the year zero-padded: strftime("%Y") is not, for years before 1000
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
        f"{value.second:02d}.{value.microsecond // 1000:03d}Z"
    )


class DateTimeField(serializers.DateTimeField):
    def to_representation(self, value: Any) -> str | None:
        if not value:
            return None
        if isinstance(value, str):
            value = self.to_internal_value(value)
        return format_datetime(value)


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose DateTimeFields render in the contract's format."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
    }


class StrictSerializerMixin:
    """Unknown fields in a request body are a 400 (CONTRACT §0, PATCH rules)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))  # type: ignore[attr-defined]
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]
