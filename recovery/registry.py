"""The kinds of objects recovery can bring back, as registered by the apps that own them.

Recovery sits low: every app writes its activity and tombstones through it, so it
imports none of them. An app whose objects are deleted into tombstones registers one
`Recoverable` per entity type in its `AppConfig.ready()` (tasks: "task"; notes will
register "note" the same way), and recovery's services and views look it up by the
tombstone's `entity_type`:

* `snapshot(instance)` → the JSON payload kept in the tombstone (called by
  `recovery.services.tombstone_bury` just before the instance is deleted); by
  convention the object's own fields sit under the entity type's key
  (`{"task": {...}, ...}`), where the tombstone list finds its `title`;
* `restore(user=, payload=)` → the object again, with its original id, inside
  recovery's transaction (raising the usual API errors: 403, 409, ...);
* `represent(user=, restored=)` → the restored object as its owner's detail endpoint
  shows it, and `representation`, the serializer describing that shape (OpenAPI).

This module imports no model, so apps can register from `ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Recoverable:
    entity_type: str
    snapshot: Callable[[Any], dict[str, Any]]
    restore: Callable[..., Any]
    represent: Callable[..., Any]
    representation: type


_registry: dict[str, Recoverable] = {}


def recoverable_register(entry: Recoverable) -> None:
    """Register how to recover `entry.entity_type`; registering the same entry twice
    (a second `ready()` call) is a no-op, a different one for a taken type an error."""
    existing = _registry.get(entry.entity_type)
    if existing is not None and existing != entry:
        raise ImproperlyConfigured(f"entity type {entry.entity_type!r} is registered for recovery already")
    _registry[entry.entity_type] = entry


def recoverable_get(entity_type: str) -> Recoverable | None:
    """The registered entry of `entity_type`, or None when no app recovers that type."""
    return _registry.get(entity_type)


def recoverables() -> tuple[Recoverable, ...]:
    """Every registered entry, in registration order (INSTALLED_APPS order)."""
    return tuple(_registry.values())


# --- retention purges run by `purge_expired` ------------------------------------------------
#
# The daily `purge_expired` command lives here, below the apps whose tables it also
# trims; an app above registers its purge in `AppConfig.ready()` (billing: processed
# Checkout.com events), and the command runs each one after its own.


@dataclass(frozen=True)
class RetentionPurge:
    label: str  # what the command's summary calls the rows ("webhook events")
    purge: Callable[[], int]  # deletes the rows past retention, returns how many


_purges: dict[str, RetentionPurge] = {}


def retention_purge_register(entry: RetentionPurge) -> None:
    """Register a purge for `purge_expired`; the same label twice keeps the latest."""
    _purges[entry.label] = entry


def retention_purges() -> tuple[RetentionPurge, ...]:
    return tuple(_purges.values())
