"""Checkout.com webhook events (CONTRACT §12): verified, stored once per event id, applied
at most once.

`webhook_receive` checks `Cko-Signature` before anything else (a bad or missing one is
401 and writes nothing), then, in one transaction, INSERTs the event under its id —
the primary key settles duplicates in the database: a second delivery, even one
arriving at the same moment, waits on that key and finds the event there — locks the
payment's row and hands the event to the state machine. If applying fails the event is
rolled back with it, so Checkout.com's retry applies it later.

Handled: `payment_captured` (Pro period or credit pack paid), `payment_declined` /
`payment_expired` / `payment_canceled` (a failed attempt), `payment_approved` (the card
to charge for renewals). Every other type is stored and acknowledged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing import providers
from billing.models import Payment, PaymentKind, PaymentStatus, WebhookEvent, WebhookEventStatus
from billing.services.subscriptions import Trigger, payment_mark, subscription_apply
from credits import services as credits_services
from notifications.models import NotificationType
from notifications.services import notification_create
from perpetua.api.exceptions import Unauthorized, ValidationFailed
from recovery.services import activity_record

logger = logging.getLogger(__name__)

CAPTURED = "payment_captured"
APPROVED = "payment_approved"
FAILED_TYPES = frozenset({"payment_declined", "payment_expired", "payment_canceled"})


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    duplicate: bool
    status: str
    outcome: str


def _occurred_at(payload: dict[str, Any], data: dict[str, Any]) -> dt.datetime | None:
    for value in (payload.get("created_on"), payload.get("timestamp"), data.get("processed_on")):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("The event is not JSON.") from exc
    if not isinstance(payload, dict):
        raise ValidationFailed("The event is not a JSON object.")
    event_id, event_type = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 64:
        raise ValidationFailed("The event has no id.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 64:
        raise ValidationFailed("The event has no type.")
    if not isinstance(payload.get("data", {}), dict):
        raise ValidationFailed("The event's data is not an object.")
    return payload


def _payment_lock(*, data: dict[str, Any]) -> Payment | None:
    """The payment an event is about, locked: by our `reference` (the Payment id), else by
    Checkout.com's payment id."""
    reference, payment_id = data.get("reference"), data.get("id")
    payments = Payment.objects.select_for_update()
    if isinstance(reference, str):
        try:
            found = payments.filter(id=uuid.UUID(reference)).first()
        except ValueError:
            found = None
        if found is not None:
            return found
    if isinstance(payment_id, str) and payment_id:
        return payments.filter(payment_id=payment_id).first()
    return None


def webhook_receive(*, body: bytes, signature: str | None, now: dt.datetime | None = None) -> WebhookResult:
    """`POST /webhooks/checkout`: verify, store once, apply once (see the module docstring)."""
    if not providers.signature_valid(body=body, signature=signature):
        raise Unauthorized("Invalid or missing Cko-Signature.")
    payload = _parse(body)
    data: dict[str, Any] = payload.get("data") or {}
    now = now or timezone.now()
    occurred_at = _occurred_at(payload, data) or now
    with transaction.atomic():
        try:
            with transaction.atomic():
                event = WebhookEvent.objects.create(
                    event_id=payload["id"],
                    type=payload["type"],
                    payment_id=str(data.get("id") or "")[:64],
                    reference=str(data.get("reference") or "")[:64],
                    status=WebhookEventStatus.IGNORED,
                    occurred_at=occurred_at,
                    payload=payload,
                )
        except IntegrityError:
            existing = WebhookEvent.objects.get(event_id=payload["id"])
            return WebhookResult(event_id=existing.event_id, duplicate=True, status=existing.status,
                                 outcome=existing.outcome)  # fmt: skip
        status, outcome = _apply(event_type=event.type, data=data, now=now, occurred_at=occurred_at)
        event.status, event.outcome = status, outcome[:200]
        event.save(update_fields=["status", "outcome"])
    logger.info("Checkout.com event %s (%s): %s", event.event_id, event.type, outcome)
    return WebhookResult(event_id=event.event_id, duplicate=False, status=status, outcome=outcome)


def _apply(*, event_type: str, data: dict[str, Any], now: dt.datetime, occurred_at: dt.datetime) -> tuple[str, str]:
    if event_type not in (CAPTURED, APPROVED, *FAILED_TYPES):
        return WebhookEventStatus.IGNORED, "unhandled event type"
    payment = _payment_lock(data=data)
    if payment is None:
        return WebhookEventStatus.IGNORED, "unknown payment"
    payment_id = data.get("id") if isinstance(data.get("id"), str) else None
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    if isinstance(source.get("id"), str) and source["id"] and not payment.source_id:
        payment.source_id = source["id"][:64]
        payment.save(update_fields=["source_id", "updated_at"])

    if event_type == APPROVED:
        if payment_id and not payment.payment_id:
            payment_mark(payment=payment, status=payment.status, payment_id=payment_id)
        return WebhookEventStatus.PROCESSED, "card recorded"

    if event_type == CAPTURED:
        if payment.status == PaymentStatus.CAPTURED:
            return WebhookEventStatus.IGNORED, "payment captured already"
        payment_mark(payment=payment, status=PaymentStatus.CAPTURED, payment_id=payment_id, outcome_at=occurred_at)
        if payment.kind == PaymentKind.CREDITS:
            return _credits_paid(payment=payment)
        transition = subscription_apply(
            user=payment.user_id, trigger=Trigger.PAYMENT_CAPTURED, payment=payment, now=now, occurred_at=occurred_at
        )
        return WebhookEventStatus.PROCESSED, transition.action or "no change"

    # A failed attempt: declined, expired or cancelled before capture.
    if payment.status in (PaymentStatus.CAPTURED, PaymentStatus.DECLINED):
        return WebhookEventStatus.IGNORED, f"payment {payment.status} already"
    payment_mark(payment=payment, status=PaymentStatus.DECLINED, payment_id=payment_id, outcome_at=occurred_at)
    if payment.kind != PaymentKind.RENEWAL:
        return WebhookEventStatus.PROCESSED, "checkout attempt failed"
    transition = subscription_apply(
        user=payment.user_id, trigger=Trigger.PAYMENT_DECLINED, payment=payment, now=now, occurred_at=occurred_at
    )
    if not transition.changed:
        return WebhookEventStatus.IGNORED, "stale decline (out of order)"
    return WebhookEventStatus.PROCESSED, transition.action


def _credits_paid(*, payment: Payment) -> tuple[str, str]:
    """A credit pack was paid: its credits, once per payment (the ledger's unique ref)."""
    entry = credits_services.credits_grant_purchase(
        user=payment.user_id, amount=payment.credits, operation_ref=payment.payment_id or str(payment.id)
    )
    if entry is None:
        return WebhookEventStatus.IGNORED, "credits granted already"
    activity_record(
        user=payment.user_id,
        entity_type="subscription",
        entity_id=payment.id,
        action="credits_purchased",
        source="system",
        metadata={"credits": payment.credits, "payment_id": payment.payment_id},
    )
    notification_create(
        user=payment.user_id,
        type=NotificationType.SUBSCRIPTION,
        title="Credits added",
        body=f"{payment.credits} AI credits were added to your balance.",
        action_url="/dashboard/credits",
    )
    return WebhookEventStatus.PROCESSED, f"{payment.credits} credits granted"


def webhook_events_purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete stored events older than WEBHOOK_EVENT_RETENTION_DAYS (`purge_expired`). A
    replay of a purged event is long past Checkout.com's retry window."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
