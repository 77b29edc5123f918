"""Reads of notifications (CONTRACT §13)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from notifications.models import Notification
from perpetua.api.exceptions import Forbidden, NotFound


def notification_list(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    qs = Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")
    if unread_only:
        qs = qs.filter(read=False)
    return qs


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
