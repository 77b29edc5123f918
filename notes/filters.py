"""Query-string filters of `GET /notes` (CONTRACT §7), applied by `notes.selectors.note_list`
through `perpetua.api.filters.filterset_apply`: a bad value is a 400 naming the parameter."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from notes.models import Note, TranscriptionStatus
from perpetua.api.filters import StrictBooleanFilter

ORDERING_FIELDS = ("created_at", "updated_at")
DEFAULT_ORDERING = ("-created_at", "id")


class NoteOrderingFilter(django_filters.OrderingFilter):
    """`ordering=-updated_at`: comma-separated of ORDERING_FIELDS, `-` descends; `id` last so pages are stable."""

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if not value:
            return qs
        return qs.order_by(*[self.get_ordering_value(term) for term in value], "id")


class NoteFilter(django_filters.FilterSet):
    # absent → archived and unarchived notes (the SPA's archived page filters on the client).
    archived = StrictBooleanFilter(field_name="archived")
    has_voice = StrictBooleanFilter(field_name="voice_url", lookup_expr="isnull", exclude=True)
    transcription_status = django_filters.ChoiceFilter(
        field_name="transcription_status", choices=TranscriptionStatus.choices
    )
    search = django_filters.CharFilter(field_name="content", lookup_expr="icontains", max_length=200)
    ordering = NoteOrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = Note
        fields: list[str] = []
