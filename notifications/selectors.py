"""Reads of notifications (CONTRACT §13)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from notifications.filters import NotificationFilter
from notifications.models import Notification
from perpetua.api.exceptions import Forbidden, NotFound
from perpetua.api.filters import filterset_apply


def notification_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Notification]:
    """`GET /notifications?unread_only=`: the user's notifications, newest first."""
    queryset = Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")
    return filterset_apply(NotificationFilter, data=filters, queryset=queryset).qs


def notification_unread_count(*, user: Any) -> int:
    return Notification.objects.filter(user_id=user.pk, read=False).count()


def notification_get_for_user(*, user: Any, notification_id: uuid.UUID) -> Notification:
    """Fetch and authorize: missing 404 NOT_FOUND, another user's 403 FORBIDDEN."""
    notification = Notification.objects.filter(id=notification_id).first()
    if notification is None:
        raise NotFound("Notification not found.")
    if notification.user_id != getattr(user, "pk", user):
        raise Forbidden()
    return notification
