"""Query parameters of list endpoints, parsed one way: django-filter FilterSets.

Each app's `filters.py` declares a FilterSet per list endpoint; its selector applies it
with `filterset_apply`, so views hand `request.query_params` over untouched. Strict on
purpose (CONTRACT §0): a bad *value* of a known parameter (`completed=maybe`,
`entity_id=x`) is a 400 with the field in `details`, never a silently ignored filter;
unknown parameter *names* are ignored (cache busters, `limit`/`offset`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from perpetua.api.exceptions import ValidationFailed


class StrictBooleanField(forms.Field):
    """`true` or `false` (any case); anything else is invalid, not ignored."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text == "true":
            return True
        if text == "false":
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


def filterset_apply(
    filterset_class: type[django_filters.FilterSet], *, data: Mapping[str, Any] | None, queryset: QuerySet
) -> django_filters.FilterSet:
    """The bound, valid filterset (`.qs`, `.form.cleaned_data`), or ValidationFailed (400)."""
    filterset = filterset_class(data=data if data is not None else {}, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationFailed(
            "Invalid query parameters.",
            details=[
                {"field": name, "message": str(message)}
                for name, messages in filterset.errors.items()
                for message in messages
            ],
        )
    return filterset
