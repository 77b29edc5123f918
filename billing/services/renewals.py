"""`manage.py check_subscriptions` (CONTRACT §12, §15): the daily job of subscriptions.

Checkout.com has no subscription objects, so the schedule is ours. Each run:

1. expires what is due — grace past `grace_until`, cancelled past `current_period_end`
   (tier back to free) — and rolls staff grants on (all through the state machine);
2. asks for the renewal of every active or past-due subscription whose period has
   ended: a merchant-initiated `Recurring` payment with `previous_payment_id`, one
   `Payment` row per (period, attempt). The row is committed before the provider call,
   and its id is Checkout.com's idempotency key, so a second run (or a run after a
   timeout) never charges twice. A declined attempt is retried after
   RENEWAL_RETRY_HOURS, up to PAST_DUE_MAX_FAILURES attempts; the outcome of each
   attempt arrives as a webhook.

Twice in a row is the same as once: the second run finds nothing due and the pending
attempt already asked.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing import providers
from billing.models import Payment, PaymentKind, PaymentStatus, Subscription, SubscriptionStatus
from billing.services.subscriptions import Trigger, subscription_apply, subscription_lock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckRun:
    expired: int
    extended: int
    renewals_requested: int
    renewals_failed: int


def subscriptions_check(*, now: dt.datetime | None = None) -> CheckRun:
    """One run of the daily job (see the module docstring)."""
    now = now or timezone.now()
    expired = extended = requested = failed = 0
    due = Subscription.objects.filter(
        Q(status=SubscriptionStatus.GRACE, grace_until__lte=now)
        | Q(status=SubscriptionStatus.CANCELLED, current_period_end__lte=now)
        | Q(status=SubscriptionStatus.ACTIVE, comped=True, current_period_end__lte=now)
    ).values_list("user_id", flat=True)
    for user_id in list(due):
        transition = subscription_apply(user=user_id, trigger=Trigger.PERIOD_CHECK, now=now)
        if transition.after == SubscriptionStatus.EXPIRED and transition.changed:
            expired += 1
        elif transition.changed:
            extended += 1
    to_renew = Subscription.objects.filter(
        status__in=(SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE), comped=False, current_period_end__lte=now
    ).values_list("user_id", flat=True)
    for user_id in list(to_renew):
        outcome = renewal_request(user_id=user_id, now=now)
        requested += outcome == "requested"
        failed += outcome == "provider_unavailable"
    return CheckRun(expired=expired, extended=extended, renewals_requested=requested, renewals_failed=failed)


def _card_on_file(*, user_id: object) -> str:
    return (
        Payment.objects.filter(
            user_id=user_id, kind__in=(PaymentKind.SUBSCRIPTION, PaymentKind.RENEWAL), status=PaymentStatus.CAPTURED
        )
        .exclude(source_id="")
        .order_by("-created_at")
        .values_list("source_id", flat=True)
        .first()
        or ""
    )


def renewal_request(*, user_id: object, now: dt.datetime | None = None) -> str:
    """Ask Checkout.com for the next renewal attempt of one subscription, at most once per
    (period, attempt). Returns what happened: `requested`, `waiting` (asked already, or too
    early to retry), `no_card` (counted as a failed attempt), `provider_unavailable`
    (kept for the next run), or `not_due`."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = subscription_lock(user_id=user_id)
        if (
            sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
            or sub.comped
            or sub.current_period_end is None
            or sub.current_period_end > now
        ):
            return "not_due"
        attempt = sub.failed_payment_count + 1
        renewals = Payment.objects.filter(
            user_id=user_id, kind=PaymentKind.RENEWAL, renews_period_end=sub.current_period_end
        )
        payment = renewals.filter(attempt=attempt).first()
        if payment is not None and payment.status != PaymentStatus.FAILED:
            return "waiting"  # asked already; its outcome comes as a webhook
        if payment is None:
            previous = renewals.filter(attempt=attempt - 1).first()
            if previous is not None and (
                previous.status != PaymentStatus.DECLINED
                or (previous.outcome_at or previous.updated_at) + timedelta(hours=settings.RENEWAL_RETRY_HOURS) > now
            ):
                return "waiting"
            source_id = _card_on_file(user_id=user_id)
            payment = Payment.objects.create(
                user_id=user_id,
                kind=PaymentKind.RENEWAL,
                amount=settings.PRO_PRICE_AMOUNT,
                currency=settings.BILLING_CURRENCY,
                renews_period_end=sub.current_period_end,
                attempt=attempt,
                source_id=source_id,
            )
            if not source_id or not sub.last_payment_id:
                # Nothing to charge: the attempt fails at once and counts like a decline.
                payment.status, payment.outcome_at = PaymentStatus.DECLINED, now
                payment.save(update_fields=["status", "outcome_at", "updated_at"])
                subscription_apply(user=user_id, trigger=Trigger.PAYMENT_DECLINED, payment=payment, now=now)
                return "no_card"
        previous_payment_id = sub.last_payment_id
    # The provider call runs outside any transaction; the committed row makes a retry safe.
    try:
        result = providers.payment_create(
            reference=str(payment.id),
            amount=payment.amount,
            source_id=payment.source_id,
            previous_payment_id=previous_payment_id,
            metadata={"user_id": str(user_id), "kind": PaymentKind.RENEWAL, "attempt": str(payment.attempt)},
        )
    except providers.PaymentServiceUnavailable:
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.FAILED, updated_at=timezone.now()
        )
        logger.warning("renewal %s of %s: Checkout.com unavailable, retried by the next run", payment.pk, user_id)
        return "provider_unavailable"
    # The webhook may have been faster: only fill what is still empty.
    Payment.objects.filter(pk=payment.pk, payment_id__isnull=True).update(payment_id=result.payment_id)
    Payment.objects.filter(pk=payment.pk, status=PaymentStatus.FAILED).update(
        status=PaymentStatus.PENDING, updated_at=timezone.now()
    )
    return "requested"
