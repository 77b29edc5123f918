"""Subscriptions, payments and the Checkout.com events that move them (CONTRACT §12).

`Subscription` is one row per user that ever subscribed (or was made Pro by staff): its
row is what every state change locks. `Payment` is our record of one payment we asked
Checkout.com for — a hosted page (first payment, credit pack) or a merchant-initiated
renewal; its id is the `reference` Checkout.com echoes in every event. `WebhookEvent`
stores each delivered event under its event id (unique), which is what makes a replayed
or concurrently duplicated delivery apply at most once.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    GRACE = "grace", "Grace"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


# States in which the user is Pro (CONTRACT §12: cancelled keeps access until the period ends).
PRO_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.GRACE,
    SubscriptionStatus.CANCELLED,
)


class Subscription(models.Model):
    """A user's Pro subscription. `status` is null until the first activation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription")
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices, null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    failed_payment_count = models.PositiveSmallIntegerField(default=0)
    grace_until = models.DateTimeField(null=True, blank=True)
    # Granted by staff (admin, `issue_token --pro`): no card on file, renewed without payment.
    comped = models.BooleanField(default=False)
    # The last captured subscription payment: the `previous_payment_id` of the next renewal.
    last_payment_id = models.CharField(max_length=64, blank=True, default="")
    # When the newest payment event applied happened (events arrive out of order).
    last_captured_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "current_period_end"], name="subscription_status_end")]

    def __str__(self) -> str:
        return f"subscription of {self.user_id} ({self.status or 'none'})"


class PaymentKind(models.TextChoices):
    SUBSCRIPTION = "subscription", "Subscription (hosted page)"
    RENEWAL = "renewal", "Renewal (merchant-initiated)"
    CREDITS = "credits", "Credit pack (hosted page)"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CAPTURED = "captured", "Captured"
    DECLINED = "declined", "Declined"
    FAILED = "failed", "Failed"  # the provider could not be reached; retried by the next run


class Payment(models.Model):
    """One payment asked of Checkout.com. `id` is sent as its `reference`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payments")
    kind = models.CharField(max_length=12, choices=PaymentKind.choices)
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount = models.PositiveIntegerField(help_text="Minor currency units.")
    currency = models.CharField(max_length=3)
    credits = models.PositiveIntegerField(default=0, help_text="Credits a credit pack buys.")
    # The hosted payment page (`hpp_...`) and the payment (`pay_...`) at Checkout.com.
    session_id = models.CharField(max_length=64, blank=True, default="")
    payment_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    checkout_url = models.URLField(max_length=1000, blank=True, default="")
    # The card (`src_...`) Checkout.com reported for it: what a renewal charges.
    source_id = models.CharField(max_length=64, blank=True, default="")
    # A renewal: the period end it renews and which attempt this is (1..PAST_DUE_MAX_FAILURES).
    renews_period_end = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    # When the provider says it was captured or declined (a declined renewal is retried from then).
    outcome_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One renewal attempt per (user, period, attempt): check_subscriptions run twice asks once.
            models.UniqueConstraint(
                fields=["user", "renews_period_end", "attempt"],
                condition=Q(kind="renewal"),
                name="payment_one_renewal_attempt",
            ),
        ]
        indexes = [models.Index(fields=["user", "kind", "-created_at"], name="payment_user_kind")]

    def __str__(self) -> str:
        return f"{self.kind} payment {self.id} ({self.status})"


class WebhookEventStatus(models.TextChoices):
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored"  # unknown type, unknown payment, or older than what was applied


class WebhookEvent(models.Model):
    """A Checkout.com event as delivered, stored once per event id (CONTRACT §12)."""

    event_id = models.CharField(max_length=64, primary_key=True)
    type = models.CharField(max_length=64)
    payment_id = models.CharField(max_length=64, blank=True, default="")
    reference = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=10, choices=WebhookEventStatus.choices)
    outcome = models.CharField(max_length=200, blank=True, default="")
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
