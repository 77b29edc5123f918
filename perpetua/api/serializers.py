"""Serializer building blocks shared by every app: the contract's timestamp format, strict input, bounded lists."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
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
            unknown = set(data) - set(self.fields)  # type: ignore[attr-defined]
            if unknown:
                # Only as many as an error body lists: 100 000 unknown keys cost no more than 21.
                shown = sorted(unknown)[: settings.ERROR_MAX_DETAILS + 1]
                raise serializers.ValidationError({name: ["Unknown field."] for name in shown})
        return super().to_internal_value(data)  # type: ignore[misc]


class BoundedListField(serializers.ListField):
    """A ListField that checks the list's length BEFORE validating any item.

    DRF's ListField applies `max_length` as a validator, after every item went through
    the child (a 200 000-item list of bad ids costs seconds and a 13 MB error). Here an
    over-long list is refused at once, so the work per request is bounded by `max_length`.
    (`many=True` serializers need nothing: DRF's ListSerializer already checks first.)
    """

    def __init__(self, *, max_length: int, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, (str, Mapping)) or not hasattr(data, "__len__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        if len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        if self.min_length is not None and len(data) < self.min_length:
            self.fail("min_length", min_length=self.min_length)
        return super().to_internal_value(data)
