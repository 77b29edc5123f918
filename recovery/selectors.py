"""Reads of tombstones and the activity log (CONTRACT §14)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from perpetua.api.exceptions import Forbidden
from perpetua.api.filters import filterset_apply
from recovery.filters import ActivityFilter
from recovery.models import ActivityEntry, Tombstone


def tombstone_list(*, user: Any) -> QuerySet[Tombstone]:
    """The user's still-recoverable tombstones, newest first."""
    return Tombstone.objects.filter(user_id=user.pk, recoverable_until__gt=timezone.now()).order_by(
        "-created_at", "-id"
    )


def activity_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[ActivityEntry]:
    """`GET /activity?entity_type=&entity_id=`: the user's activity log, newest first,
    optionally narrowed to one entity.

    Filtering by an entity only another user has activity for is 403 FORBIDDEN
    (CONTRACT §0: no endpoint lets one user read about another's data).
    """
    filterset = filterset_apply(ActivityFilter, data=filters, queryset=ActivityEntry.objects.filter(user_id=user.pk))
    qs = filterset.qs
    entity_id = filterset.form.cleaned_data.get("entity_id")
    if entity_id is not None:
        owners = set(ActivityEntry.objects.filter(entity_id=entity_id).values_list("user_id", flat=True).distinct()[:2])
        if owners and user.pk not in owners:
            raise Forbidden("This entity belongs to another user.")
        qs = qs.filter(entity_id=entity_id)
    return qs.order_by("-created_at", "-id")


def activity_count_per_day(*, since: datetime, source: str | None = None) -> dict[date, int]:
    """Activity entries per UTC day since `since`, optionally of one `source` (the staff
    dashboard counts AI calls as entries with source "ai"); one query."""
    entries = ActivityEntry.objects.filter(created_at__gte=since)
    if source is not None:
        entries = entries.filter(source=source)
    rows = entries.annotate(day=TruncDate("created_at", tzinfo=UTC)).values_list("day").annotate(n=Count("pk"))
    return dict(rows.order_by())
