"""The life of one paid AI call (CONTRACT §8, §10): the one place credits meet the provider.

    ensure the provider is configured   (else 503, nothing moved)
    reserve the cost                     (credits_reserve: spent at once, so concurrent calls
                                          cannot spend a credit twice; 402 when short)
    call the provider
    commit                               (success: the reservation is kept)
    | refund                             (any failure, a timeout, a cancelled call: exactly
                                          once — credits_refund settles a reservation once)

Each settlement writes the activity entry of the call (`ai_chat`, source `ai`) in the same
transaction, and counts the call, its failures and the provider's latency in /metrics.
Database work runs off the event loop and hands its connection back before the provider
is awaited (`release_db`).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ai.providers import llm
from credits.selectors import credits_remaining
from credits.services import credits_commit, credits_refund, credits_reserve
from perpetua.api.async_views import release_db
from perpetua.api.exceptions import AIServiceUnavailable
from perpetua.api.metrics import AI_CALLS, AI_FAILURES, AI_LATENCY
from recovery import services as recovery_services

logger = logging.getLogger(__name__)

ACTIVITY_ENTITY_TYPE = "ai_chat"  # the SPA's entity type for AI events


@dataclass
class Charge:
    """A reserved AI call: who, which endpoint, the reservation, what to log with it."""

    user: Any
    endpoint: str
    reservation_id: uuid.UUID
    cost: int
    metadata: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    settled: bool = False


def ensure_provider(*, endpoint: str) -> None:
    """Before anything is counted or charged: no key configured → 503."""
    try:
        llm.ensure_configured()
    except llm.ProviderUnavailable as exc:
        AI_FAILURES.labels(endpoint=endpoint, reason=exc.reason).inc()
        raise AIServiceUnavailable("The AI service is not configured.") from exc


def _reserve(*, user: Any, cost: int, reason: str) -> uuid.UUID:
    return credits_reserve(user=user, amount=cost, reason=reason).id


async def charge_start(*, user: Any, endpoint: str, cost: int, reason: str, **metadata: Any) -> Charge:
    """Reserve the call's cost (402 INSUFFICIENT_CREDITS when short, nothing written)."""
    reservation_id = await release_db(_reserve, user=user, cost=cost, reason=reason)
    return Charge(user=user, endpoint=endpoint, reservation_id=reservation_id, cost=cost, metadata=metadata)


def _record(charge: Charge, *, action: str, metadata: dict[str, Any]) -> None:
    recovery_services.activity_record(
        user=charge.user, entity_type=ACTIVITY_ENTITY_TYPE, entity_id=charge.reservation_id, action=action,
        source="ai", metadata={"endpoint": charge.endpoint, **charge.metadata, **metadata},
    )  # fmt: skip


def _commit(charge: Charge, metadata: dict[str, Any]) -> int:
    with transaction.atomic():
        credits_commit(reservation_id=charge.reservation_id)
        _record(charge, action=charge.endpoint, metadata={"credits_used": charge.cost, **metadata})
    return credits_remaining(user=charge.user)


def _refund(charge: Charge, reason: str) -> None:
    with transaction.atomic():
        if credits_refund(reservation_id=charge.reservation_id) is not None:
            _record(charge, action=f"{charge.endpoint}_failed", metadata={"credits_used": 0, "reason": reason})


async def charge_commit(charge: Charge, **metadata: Any) -> int:
    """The call succeeded: keep the credits; returns the credits remaining."""
    AI_LATENCY.labels(endpoint=charge.endpoint).observe(time.monotonic() - charge.started)
    remaining = await release_db(_commit, charge, metadata)
    charge.settled = True
    AI_CALLS.labels(endpoint=charge.endpoint, outcome="ok").inc()
    return remaining


async def charge_refund(charge: Charge, *, reason: str) -> None:
    """The call failed (or was abandoned): give the credits back, exactly once."""
    if charge.settled:
        return
    charge.settled = True
    AI_LATENCY.labels(endpoint=charge.endpoint).observe(time.monotonic() - charge.started)
    AI_CALLS.labels(endpoint=charge.endpoint, outcome="failed").inc()
    AI_FAILURES.labels(endpoint=charge.endpoint, reason=reason).inc()
    await release_db(_refund, charge, reason)


def unavailable(exc: llm.ProviderUnavailable) -> AIServiceUnavailable:
    messages = {
        "timeout": "The AI service did not answer in time.",
        "malformed": "The AI service gave an answer that could not be used.",
    }
    return AIServiceUnavailable(messages.get(exc.reason, "The AI service is unavailable."))
