"""Tombstones and the activity log (CONTRACT §14).

Every write here is a plain function with keyword-only arguments. `activity_record`,
`tombstone_bury` and `tombstone_create` are called by other apps' services inside
their own transactions; `tombstone_recover` is the one way back from a tombstone. The
apps above are reached only through what they registered in `recovery.registry`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils import timezone

from accounts.services import user_lock
from perpetua.api.exceptions import Conflict, Forbidden, NotFound
from perpetua.api.request_id import get_request_id
from recovery.models import ActivityEntry, ActivitySource, Tombstone
from recovery.registry import recoverable_get


def _user_id(user: Any) -> Any:
    """Accept a User or a bare user id."""
    return getattr(user, "pk", user)


def activity_record(
    *,
    user: Any,
    entity_type: str,
    entity_id: uuid.UUID | str,
    action: str,
    source: str = "user",
    metadata: dict[str, Any] | None = None,
) -> None:
    """Append one activity-log entry; the request id comes from the current request context.

    One INSERT, no reads: callers log from inside their own transaction, so the entry
    commits or rolls back with the change it describes (CONTRACT §14).
    """
    if source not in ActivitySource.values:
        raise ValueError(f"unknown activity source {source!r}")
    ActivityEntry.objects.create(
        user_id=_user_id(user),
        entity_type=entity_type,
        entity_id=entity_id if isinstance(entity_id, uuid.UUID) else uuid.UUID(str(entity_id)),
        action=action,
        source=source,
        metadata=metadata or {},
        request_id=get_request_id(),
    )


def activity_purge_expired() -> int:
    """Delete activity entries older than ACTIVITY_RETENTION_DAYS (daily job); returns the count."""
    cutoff = timezone.now() - timedelta(days=settings.ACTIVITY_RETENTION_DAYS)
    deleted, _ = ActivityEntry.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def tombstone_create(*, user: Any, entity_type: str, entity_id: uuid.UUID, payload: dict[str, Any]) -> Tombstone:
    """Store a deleted object's snapshot (called inside the deleting transaction).

    Keeps at most MAX_TOMBSTONES per user: the newest win, the oldest (and any expired
    one) is dropped. The user's row is locked first so concurrent deletions of one
    user serialize here and the cap holds under races (CONTRACT §14).
    """
    user_id = _user_id(user)
    with transaction.atomic():
        # Lock the owner: two deletions racing for the last slot take turns.
        user_lock(user_id=user_id)
        now = timezone.now()
        tombstone = Tombstone.objects.create(
            user_id=user_id,
            entity_type=entity_type,
            entity_id=entity_id,
            payload=payload,
            created_at=now,
            recoverable_until=now + timedelta(days=settings.TOMBSTONE_TTL_DAYS),
        )
        keep = Tombstone.objects.filter(user_id=user_id, recoverable_until__gt=now).order_by("-created_at", "-id")
        keep_ids = list(keep.values_list("id", flat=True)[: settings.MAX_TOMBSTONES])
        Tombstone.objects.filter(user_id=user_id).exclude(id__in=keep_ids).delete()
    return tombstone


def tombstone_purge_expired() -> int:
    """Delete tombstones past `recoverable_until` (daily job); returns the count."""
    deleted, _ = Tombstone.objects.filter(recoverable_until__lte=timezone.now()).delete()
    return deleted


def tombstone_bury(*, user: Any, entity_type: str, instance: models.Model) -> Tombstone:
    """Delete `instance` into a tombstone (CONTRACT §14), inside the caller's transaction.

    The payload is the owning app's registered snapshot, taken before the delete; the
    instance (and whatever cascades from it) is deleted before `tombstone_create` locks
    the user row, so the caller's lock order (object → user) holds.
    """
    entry = recoverable_get(entity_type)
    if entry is None:
        raise ImproperlyConfigured(f"no app registered {entity_type!r} for recovery")
    entity_id = instance.pk
    payload = entry.snapshot(instance)
    instance.delete()
    return tombstone_create(user=user, entity_type=entity_type, entity_id=entity_id, payload=payload)


def _restore(*, user: Any, entity_type: str, payload: dict[str, Any]) -> Any:
    """The owning app's registered restore; a type no app registered is 409."""
    entry = recoverable_get(entity_type)
    if entry is None:
        raise Conflict(f"Recovering a {entity_type} is not supported.")
    return entry.restore(user=user, payload=payload)


def tombstone_recover(*, user: Any, tombstone_id: uuid.UUID) -> tuple[str, Any]:
    """Restore a deleted task or note with its original id, then drop the tombstone.

    Missing or expired → 404, another user's → 403, the id taken again → 409 (raised by
    the restore service). Restore, tombstone deletion and the "recovered" activity entry
    commit together (CONTRACT §14).
    """
    with transaction.atomic():
        # Lock order user → tombstone, as in task_delete → tombstone_create: a deletion that
        # drops this tombstone and this recovery take turns instead of deadlocking, and a
        # second concurrent recovery of the same tombstone finds it gone (404).
        user_lock(user_id=_user_id(user))
        tombstone = Tombstone.objects.select_for_update().filter(id=tombstone_id).first()
        if tombstone is None or tombstone.recoverable_until <= timezone.now():
            raise NotFound("Tombstone not found.")
        if tombstone.user_id != _user_id(user):
            raise Forbidden()
        restored = _restore(user=user, entity_type=tombstone.entity_type, payload=tombstone.payload)
        tombstone.delete()
        activity_record(
            user=user,
            entity_type=tombstone.entity_type,
            entity_id=tombstone.entity_id,
            action="recovered",
            metadata={"tombstone_id": str(tombstone_id)},
        )
    return tombstone.entity_type, restored
