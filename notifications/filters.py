"""Query-string filters of `GET /notifications` (CONTRACT §13), applied by the selector."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from notifications.models import Notification
from perpetua.api.filters import StrictBooleanFilter


class NotificationFilter(django_filters.FilterSet):
    # true → unread only; absent or false → all.
    unread_only = StrictBooleanFilter(method="filter_unread_only")

    class Meta:
        model = Notification
        fields: list[str] = []

    def filter_unread_only(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        return queryset.filter(read=False) if value else queryset
