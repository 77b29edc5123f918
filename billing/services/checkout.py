"""The user's own billing actions (CONTRACT §12): start a Pro checkout, buy a credit pack,
cancel.

A checkout asks Checkout.com for a hosted payment page first and writes only once it
has one: a provider error or timeout is a 503 and leaves no row behind. Nothing here
grants anything — Pro and purchased credits arrive with the confirming webhook
(`billing.services.webhooks`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from billing import providers
from billing.models import Payment, PaymentKind, Subscription, SubscriptionStatus
from billing.services.subscriptions import Transition, Trigger, subscription_apply
from credits import services as credits_services
from perpetua.api.exceptions import Conflict
from recovery.services import activity_record


def _hosted_payment(*, user: Any, kind: str, amount: int, credits: int, description: str) -> Payment:
    payment_id = uuid.uuid4()
    hosted = providers.hosted_payment_create(
        reference=str(payment_id),
        amount=amount,
        description=description,
        recurring=kind == PaymentKind.SUBSCRIPTION,
        customer_email=user.email,
        customer_name=user.name or user.email,
        metadata={"user_id": str(user.pk), "kind": kind, "credits": str(credits)},
    )
    with transaction.atomic():
        payment = Payment.objects.create(
            id=payment_id,
            user=user,
            kind=kind,
            amount=amount,
            currency=settings.BILLING_CURRENCY,
            credits=credits,
            session_id=hosted.session_id,
            checkout_url=hosted.checkout_url,
        )
        activity_record(
            user=user,
            entity_type="subscription",
            entity_id=payment.id,
            action="checkout_started" if kind == PaymentKind.SUBSCRIPTION else "credits_checkout_started",
            metadata={"session_id": hosted.session_id, "amount": amount, "credits": credits},
        )
    return payment


def subscription_checkout(*, user: Any) -> Payment:
    """`POST /subscription/checkout` (and `/upgrade`): a hosted page for the first Pro
    payment (a `Recurring` one, so renewals can charge the same card). 409 when the user
    already has a running subscription; allowed when past due, in grace, cancelled or
    expired (paying again makes it active)."""
    status = Subscription.objects.filter(user_id=user.pk).values_list("status", flat=True).first()
    if status == SubscriptionStatus.ACTIVE:
        raise Conflict("You already have an active Pro subscription.")
    return _hosted_payment(
        user=user,
        kind=PaymentKind.SUBSCRIPTION,
        amount=settings.PRO_PRICE_AMOUNT,
        credits=0,
        description="Perpetua Pro",
    )


def credits_purchase_checkout(*, user: Any, amount: int, now: dt.datetime | None = None) -> Payment:
    """`POST /subscription/purchase-credits`: a hosted page for `amount` credits. The monthly
    cap counts confirmed purchases (409 LIMIT_EXCEEDED beyond it); the credits are granted
    by the confirming webhook."""
    credits_services.credits_check_purchase_allowed(user=user, amount=amount, now=now)
    return _hosted_payment(
        user=user,
        kind=PaymentKind.CREDITS,
        amount=amount * settings.CREDIT_PRICE_AMOUNT,
        credits=amount,
        description=f"{amount} Perpetua AI credits",
    )


def subscription_cancel(*, user: Any) -> Transition:
    """`POST /subscription/cancel`: Pro stays until the period ends, then the daily job
    expires it (CONTRACT §12). Cancelling twice is one cancellation; with nothing to
    cancel, 409 CONFLICT."""
    return subscription_apply(user=user, trigger=Trigger.CANCEL)
