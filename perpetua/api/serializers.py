"""Serializer building blocks shared by every app: the contract's timestamp format, strict JSON types,
bounded dates, strict input, bounded lists.

Strict JSON types (issue 9): a JSON string is not a number or a boolean, and a number is not a
string. DRF's fields coerce (`"5"` -> 5, `5.0` -> 5, `"yes"` -> True, `123` -> "123", `5` -> UUID(int=5));
the fields below take only the JSON type they stand for, with messages in our words. Every app
declares its fields from here (ruff's banned-api rule, TID251 in pyproject.toml, refuses DRF's own),
and `ModelSerializer` maps model fields onto them, so a serializer is strict by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
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


# --- strict JSON types ------------------------------------------------------------------------------

_MUST_BE_A_STRING = "Must be a string."


class _StringOnly:
    """Refuses any JSON value but a string before the DRF field sees it (DRF would `str()` a number)."""

    default_error_messages = {"not_a_string": _MUST_BE_A_STRING}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("not_a_string")  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class CharField(_StringOnly, serializers.CharField):
    default_error_messages = {"invalid": _MUST_BE_A_STRING}


class EmailField(_StringOnly, serializers.EmailField):
    pass


class URLField(_StringOnly, serializers.URLField):
    pass


class SlugField(_StringOnly, serializers.SlugField):
    pass


class UUIDField(_StringOnly, serializers.UUIDField):
    """A UUID in a JSON string (DRF also takes a number as the UUID's 128-bit integer)."""

    default_error_messages = {"not_a_string": "Must be a valid UUID.", "invalid": "Must be a valid UUID."}


class IntegerField(serializers.IntegerField):
    """A JSON integer: not a string of digits, not `5.0`, not `true`."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class FloatField(serializers.FloatField):
    """A JSON number (integer or not), never a string."""

    default_error_messages = {"invalid": "Must be a number."}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    """JSON `true` or `false` only (DRF also takes "yes", "on", "1", 1 and their opposites)."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid")
        raise AssertionError  # unreachable: fail() raises


class ChoiceField(serializers.ChoiceField):
    """One of the choices, in the choice's own JSON type (DRF matches `str(value)`: 1 for "1", true for "True")."""

    default_error_messages = {"invalid_choice": "Must be one of: {choices}."}

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            value = self.choice_strings_to_values.get(str(data), _NO_CHOICE)
            if value is not _NO_CHOICE and isinstance(value, str) == isinstance(data, str):
                return value
        self.fail("invalid_choice", choices=", ".join(self.choice_strings_to_values))
        raise AssertionError  # unreachable: fail() raises


_NO_CHOICE = object()


_MUST_BE_A_DATETIME = "Must be an ISO 8601 date-time string, e.g. 2026-05-01T09:00:00Z."


class DateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time string between DATETIME_MIN_YEAR and DATETIME_MAX_YEAR (UTC), rendered
    in the contract's format. The bounds keep year-1 due dates and year-9999 reminders out, and every
    date the services compute from one (recurrences, offsets) far from the calendar's edges."""

    default_error_messages = {
        "invalid": _MUST_BE_A_DATETIME,
        "not_a_string": _MUST_BE_A_DATETIME,
        "date": _MUST_BE_A_DATETIME,
        "out_of_range": "Must be a date-time in the years {min_year} to {max_year} (UTC).",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str):
            self.fail("not_a_string")
        try:
            parsed = super().to_internal_value(value)
        except serializers.ValidationError as exc:
            if exc.get_codes() == ["overflow"]:  # beyond what Python's datetime holds in UTC
                self._fail_out_of_range()
            raise
        if not settings.DATETIME_MIN_YEAR <= parsed.astimezone(UTC).year <= settings.DATETIME_MAX_YEAR:
            self._fail_out_of_range()
        return parsed

    def _fail_out_of_range(self) -> None:
        self.fail("out_of_range", min_year=settings.DATETIME_MIN_YEAR, max_year=settings.DATETIME_MAX_YEAR)

    def to_representation(self, value: Any) -> str | None:
        if not value:
            return None
        if isinstance(value, str):
            value = self.to_internal_value(value)
        return format_datetime(value)


_STRICT_FIELDS: dict[type[serializers.Field], type[serializers.Field]] = {
    serializers.CharField: CharField,
    serializers.EmailField: EmailField,
    serializers.URLField: URLField,
    serializers.SlugField: SlugField,
    serializers.UUIDField: UUIDField,
    serializers.IntegerField: IntegerField,
    serializers.FloatField: FloatField,
    serializers.BooleanField: BooleanField,
    serializers.DateTimeField: DateTimeField,
}


class ModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose generated fields are the strict ones above (DateTimeFields in the contract's format)."""

    serializer_field_mapping = {
        model_field: _STRICT_FIELDS.get(field, field)
        for model_field, field in serializers.ModelSerializer.serializer_field_mapping.items()
    }
    serializer_choice_field = ChoiceField


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


class DeletedSerializer(serializers.Serializer):
    """`data` of a DELETE that leaves no tombstone (CONTRACT §0: 200 with a JSON body,
    never 204 — the SPA parses every success body)."""

    id = UUIDField()
    deleted = BooleanField(help_text="Always true.")


class DeletedEnvelopeSerializer(serializers.Serializer):
    data = DeletedSerializer()


def deleted_data(pk: Any) -> dict[str, Any]:
    return {"id": str(pk), "deleted": True}
