"""In-app notifications (CONTRACT §13)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from notifications.models import BODY_MAX_LENGTH, TITLE_MAX_LENGTH, Notification, NotificationType
from notifications.push import push_enqueue_for_notification
from notifications.selectors import notification_get_for_user


def notification_create(
    *,
    user: Any,
    type: str,
    title: str,
    body: str = "",
    action_url: str | None = None,
    task_id: uuid.UUID | None = None,
    push: bool = False,
) -> Notification:
    """Create an in-app notification; with `push=True` also a Web Push to each of the user's
    browsers, sent by the worker after commit (notifications.push). The push outcome never
    affects the caller.

    Title and body are truncated to the contract's limits (100 / 500) rather than
    rejected: callers are internal (reminders, achievements, billing). `task_id` is the
    task a reminder notification is about (CONTRACT §13), else None.
    """
    if type not in NotificationType.values:
        raise ValueError(f"unknown notification type {type!r}")
    notification = Notification.objects.create(
        user_id=getattr(user, "pk", user),
        type=type,
        title=(title or "")[:TITLE_MAX_LENGTH],
        body=(body or "")[:BODY_MAX_LENGTH],
        action_url=action_url or None,
        task_id=task_id,
    )
    if push:
        # Sent by the job queue after commit (never inside the request; a rollback sends nothing).
        push_enqueue_for_notification(notification)
    return notification


def notification_mark_read(*, user: Any, notification_id: uuid.UUID) -> Notification:
    """Mark one of the user's notifications read (idempotent: `read_at` keeps the first time)."""
    notification = notification_get_for_user(user=user, notification_id=notification_id)
    if not notification.read:
        # Conditional: of two concurrent calls only the first sets read_at.
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read=False).update(read=True, read_at=now, updated_at=now)
        notification.refresh_from_db(fields=["read", "read_at", "updated_at"])
    return notification


def notifications_mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of the user read in one UPDATE; returns how many changed."""
    now = timezone.now()
    return Notification.objects.filter(user_id=getattr(user, "pk", user), read=False).update(
        read=True, read_at=now, updated_at=now
    )


def notification_delete(*, user: Any, notification_id: uuid.UUID) -> None:
    """Delete one of the user's notifications (missing 404, another user's 403)."""
    with transaction.atomic():
        notification = notification_get_for_user(user=user, notification_id=notification_id)
        notification.delete()
