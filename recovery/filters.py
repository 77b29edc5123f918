"""Query-string filters of `GET /activity` (CONTRACT §14), applied by the selector."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from recovery.models import ActivityEntry


class ActivityFilter(django_filters.FilterSet):
    entity_type = django_filters.CharFilter(field_name="entity_type", max_length=32)
    # Applied by the selector after its ownership check (403 for another user's entity).
    entity_id = django_filters.UUIDFilter(method="filter_noop")

    class Meta:
        model = ActivityEntry
        fields: list[str] = []

    def filter_noop(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        return queryset
