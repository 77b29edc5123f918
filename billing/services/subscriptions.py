"""THE subscription state machine (CONTRACT §12): the only code that changes a
subscription's state or a user's tier.

    (none) ──paid──▶ active ──declined──▶ past_due (failed_payment_count n)
                       ▲  ▲                    │ n = PAST_DUE_MAX_FAILURES
                       │  └──────paid──────────┤
                       │                       ▼
                       ├──────paid────────── grace (GRACE_PERIOD_DAYS) ──daily job──▶ expired
                       │                                                        ▲
    active ──cancel──▶ cancelled (Pro until current_period_end) ──daily job─────┘
    expired / cancelled ──paid──▶ active          staff grant ▶ active, staff revoke ▶ expired

Every caller — the Checkout.com webhook, `check_subscriptions`, `POST
/subscription/cancel`, the admin actions and `issue_token --pro` — goes through
`subscription_apply`, which locks the user's subscription row (`SELECT ... FOR
UPDATE`) so transitions of one user take turns, applies the one transition, keeps the
tier equal to "status is active, past_due, grace or cancelled", and, in the same
transaction, grants what the transition gives (Pro daily credits on becoming Pro, 100
subscription credits per paid period through `credits`), writes the activity log and a
`subscription` notification.

Out of order: a decline older than the newest capture applied, or of a renewal for a
period already paid, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Tier, User
from accounts.services import user_set_tier
from billing.models import PRO_STATUSES, Payment, PaymentKind, Subscription, SubscriptionStatus
from credits import services as credits_services
from notifications.models import NotificationType
from notifications.services import notification_create
from perpetua.api.exceptions import Conflict
from recovery.services import activity_record

logger = logging.getLogger(__name__)

ACTION_URL = "/dashboard/subscription"


class Trigger(enum.StrEnum):
    PAYMENT_CAPTURED = "payment_captured"  # a subscription or renewal payment was captured
    PAYMENT_DECLINED = "payment_declined"  # a renewal attempt failed (or could not be made)
    CANCEL = "cancel"  # the user cancels: Pro stays until the period ends
    PERIOD_CHECK = "period_check"  # the daily job: grace / cancelled → expired, staff grants roll on
    STAFF_GRANT = "staff_grant"
    STAFF_REVOKE = "staff_revoke"


@dataclass(frozen=True)
class Transition:
    subscription: Subscription
    before: str | None
    after: str | None
    action: str  # what happened, as the activity log names it ("" when nothing changed)

    @property
    def changed(self) -> bool:
        return bool(self.action)


def _period() -> dt.timedelta:
    return dt.timedelta(days=settings.SUBSCRIPTION_PERIOD_DAYS)


def subscription_lock(*, user_id: Any) -> Subscription:
    """The user's subscription row, created (status null) when missing, locked until commit.
    The caller holds a transaction."""
    subscription = Subscription.objects.select_for_update().filter(user_id=user_id).first()
    if subscription is None:
        Subscription.objects.bulk_create([Subscription(user_id=user_id)], ignore_conflicts=True)
        subscription = Subscription.objects.select_for_update().get(user_id=user_id)
    return subscription


def _day(value: dt.datetime | None) -> str:
    if value is None:
        return "the end of the period"
    value = value.astimezone(dt.UTC)
    return f"{value:%B} {value.day}, {value.year}"


# --- the transitions: each returns (action, notification title, body) or None for "no change" ---


_Change = tuple[str, str, str] | None


def _on_captured(sub: Subscription, *, payment: Payment, now: dt.datetime, occurred_at: dt.datetime) -> _Change:
    before = sub.status
    live_end = sub.current_period_end
    if payment.kind == PaymentKind.RENEWAL and before in (
        SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.GRACE,
    ) and live_end is not None:  # fmt: skip
        start = live_end  # periods follow each other: the renewal pays for the one after
    elif before in (SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED) and live_end and live_end > now:
        start = live_end  # paying again while still Pro extends the paid time
    else:
        start = now
    sub.status = SubscriptionStatus.ACTIVE
    sub.current_period_start = start
    sub.current_period_end = start + _period()
    sub.cancel_at_period_end = False
    sub.failed_payment_count = 0
    sub.grace_until = None
    sub.comped = False
    if payment.payment_id:
        sub.last_payment_id = payment.payment_id
    if sub.last_captured_at is None or occurred_at > sub.last_captured_at:
        sub.last_captured_at = occurred_at
    until = _day(sub.current_period_end)
    if before in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.GRACE):
        return "payment_recovered", "Payment received", f"Thanks! Your Pro subscription is active again until {until}."
    if payment.kind == PaymentKind.RENEWAL:
        return "renewed", "Subscription renewed", f"Your Pro subscription was renewed until {until}."
    return "activated", "Welcome to Perpetua Pro", f"Your Pro subscription is active until {until}."


def _on_declined(sub: Subscription, *, payment: Payment | None, now: dt.datetime, occurred_at: dt.datetime) -> _Change:
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE):
        return None
    if payment is not None and (
        payment.kind != PaymentKind.RENEWAL or payment.renews_period_end != sub.current_period_end
    ):
        return None  # a hosted-page attempt, or a renewal of a period that is paid already
    if sub.last_captured_at is not None and occurred_at <= sub.last_captured_at:
        return None  # older than the newest capture: delivered out of order
    sub.failed_payment_count += 1
    if sub.failed_payment_count >= settings.PAST_DUE_MAX_FAILURES:
        sub.status = SubscriptionStatus.GRACE
        # Grace runs from the failure that started it (the event's time, never before now).
        sub.grace_until = max(now, occurred_at) + dt.timedelta(days=settings.GRACE_PERIOD_DAYS)
        return (
            "grace_started",
            "Pro ends soon",
            f"We could not charge your card {sub.failed_payment_count} times. Pro stays until "
            f"{_day(sub.grace_until)}; pay again to keep it.",
        )
    sub.status = SubscriptionStatus.PAST_DUE
    return (
        "payment_failed",
        "Payment failed",
        f"We could not renew your Pro subscription (attempt {sub.failed_payment_count} of "
        f"{settings.PAST_DUE_MAX_FAILURES}); we will try again.",
    )


def _on_cancel(sub: Subscription, *, now: dt.datetime) -> _Change:
    if sub.status == SubscriptionStatus.CANCELLED:
        return None  # cancelling twice is the same cancellation
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.GRACE):
        raise Conflict("There is no active subscription to cancel.")
    if sub.current_period_end is None or sub.current_period_end <= now:
        # Past due or in grace: the paid time is over already, so Pro ends now.
        sub.status = SubscriptionStatus.EXPIRED
        sub.cancel_at_period_end = False
        sub.grace_until = None
        return "cancelled", "Subscription cancelled", "Your Pro subscription was cancelled and has ended."
    sub.status = SubscriptionStatus.CANCELLED
    sub.cancel_at_period_end = True
    sub.grace_until = None
    return (
        "cancelled",
        "Subscription cancelled",
        f"Your Pro subscription was cancelled. You keep Pro until {_day(sub.current_period_end)}.",
    )


def _on_period_check(sub: Subscription, *, now: dt.datetime) -> _Change:
    if sub.status == SubscriptionStatus.GRACE and sub.grace_until is not None and sub.grace_until <= now:
        sub.status = SubscriptionStatus.EXPIRED
        sub.grace_until = None
        return "expired", "Pro has ended", "Your Pro subscription ended because the payment did not go through."
    if sub.status == SubscriptionStatus.CANCELLED and sub.current_period_end and sub.current_period_end <= now:
        sub.status = SubscriptionStatus.EXPIRED
        sub.cancel_at_period_end = False
        return "expired", "Pro has ended", "Your cancelled Pro subscription has ended."
    if sub.status == SubscriptionStatus.ACTIVE and sub.comped and sub.current_period_end:
        if sub.current_period_end > now:
            return None
        while sub.current_period_end <= now:  # a staff grant rolls on (no payment, no credits)
            sub.current_period_start = sub.current_period_end
            sub.current_period_end = sub.current_period_end + _period()
        return "comp_extended", "", ""
    return None


def _on_staff_grant(sub: Subscription, *, now: dt.datetime) -> _Change:
    if sub.status == SubscriptionStatus.ACTIVE:
        return None
    sub.status = SubscriptionStatus.ACTIVE
    sub.cancel_at_period_end = False
    sub.failed_payment_count = 0
    sub.grace_until = None
    if sub.current_period_end is None or sub.current_period_end <= now:
        sub.current_period_start = now
        sub.current_period_end = now + _period()
    # Without a card on file there is nothing to renew: the grant rolls on until revoked.
    sub.comped = not sub.last_payment_id
    return "granted", "You are now Pro", "Perpetua support made your account Pro."


def _on_staff_revoke(sub: Subscription, *, now: dt.datetime) -> _Change:
    if sub.status not in PRO_STATUSES:
        return None
    sub.status = SubscriptionStatus.EXPIRED
    sub.cancel_at_period_end = False
    sub.grace_until = None
    sub.failed_payment_count = 0
    return "revoked", "Pro has ended", "Perpetua support returned your account to the free plan."


# --- the one entry point -------------------------------------------------------------------------


def subscription_apply(
    *,
    user: Any,
    trigger: Trigger,
    payment: Payment | None = None,
    now: dt.datetime | None = None,
    occurred_at: dt.datetime | None = None,
    actor: Any = None,
) -> Transition:
    """Apply `trigger` to the user's subscription (see the module docstring), atomically.
    `payment` is the captured or declined payment; `occurred_at` when the provider says it
    happened (ordering of webhook events). Raises Conflict for a cancel with nothing to cancel."""
    now = now or timezone.now()
    occurred_at = occurred_at or now
    user_id = getattr(user, "pk", user)
    with transaction.atomic():
        sub = subscription_lock(user_id=user_id)
        before = sub.status
        if trigger == Trigger.PAYMENT_CAPTURED:
            if payment is None:
                raise ValueError("a captured payment is needed")
            change = _on_captured(sub, payment=payment, now=now, occurred_at=occurred_at)
        elif trigger == Trigger.PAYMENT_DECLINED:
            change = _on_declined(sub, payment=payment, now=now, occurred_at=occurred_at)
        elif trigger == Trigger.CANCEL:
            change = _on_cancel(sub, now=now)
        elif trigger == Trigger.PERIOD_CHECK:
            change = _on_period_check(sub, now=now)
        elif trigger == Trigger.STAFF_GRANT:
            change = _on_staff_grant(sub, now=now)
        elif trigger == Trigger.STAFF_REVOKE:
            change = _on_staff_revoke(sub, now=now)
        else:  # pragma: no cover - the enum is closed
            raise ValueError(f"unknown trigger {trigger!r}")
        if change is None:
            if trigger in (Trigger.STAFF_GRANT, Trigger.STAFF_REVOKE):
                _tier_sync(user_id=user_id, status=sub.status, legacy=True, trigger=trigger, now=now)
            return Transition(subscription=sub, before=before, after=sub.status, action="")
        action, title, body = change
        sub.save()
        _tier_sync(user_id=user_id, status=sub.status, trigger=trigger, now=now)
        if trigger == Trigger.PAYMENT_CAPTURED and payment is not None:
            # 100 per paid period; unused ones above the carry-over cap expire first (CONTRACT §10).
            credits_services.credits_grant_subscription(user=user_id, period_ref=str(payment.id), now=now)
        activity_record(
            user=user_id,
            entity_type="subscription",
            entity_id=sub.id,
            action=action,
            source="user" if trigger == Trigger.CANCEL else "system",
            metadata={
                "from": before,
                "to": sub.status,
                "current_period_end": sub.current_period_end.isoformat() if sub.current_period_end else None,
                "failed_payment_count": sub.failed_payment_count,
                **({"payment": str(payment.id)} if payment is not None else {}),
                **({"staff": str(actor.pk)} if actor is not None else {}),
            },
        )
        if title:
            notification_create(
                user=user_id, type=NotificationType.SUBSCRIPTION, title=title, body=body, action_url=ACTION_URL
            )
    logger.info("subscription of %s: %s (%s → %s)", user_id, action, before, sub.status)
    return Transition(subscription=sub, before=before, after=sub.status, action=action)


def _tier_sync(*, user_id: Any, status: str | None, trigger: Trigger, now: dt.datetime, legacy: bool = False) -> None:
    """Keep the tier equal to "the subscription grants Pro"; a user becoming Pro gets today's
    daily credits (CONTRACT §10). `legacy`: a staff action on a user whose tier was set before
    subscriptions existed (no row state to change) still sets the tier."""
    user = User.objects.get(pk=user_id)
    if legacy:
        tier = Tier.PRO if trigger == Trigger.STAFF_GRANT else Tier.FREE
    else:
        tier = Tier.PRO if status in PRO_STATUSES else Tier.FREE
    if user.tier != tier:
        user_set_tier(user=user, tier=tier)
    if tier == Tier.PRO:
        credits_services.credits_grant_daily(user=user, now=now)


def payment_mark(
    *, payment: Payment, status: str, payment_id: str | None = None, outcome_at: dt.datetime | None = None
) -> None:
    """Record what the provider said about a payment (the caller holds its row lock)."""
    fields = ["status", "updated_at"]
    payment.status = status
    if payment_id and not payment.payment_id:
        payment.payment_id = payment_id
        fields.append("payment_id")
    if outcome_at is not None:
        payment.outcome_at = outcome_at
        fields.append("outcome_at")
    payment.save(update_fields=fields)


# --- the legacy names (staff "Make Pro" / "Make free", `issue_token --pro`) ---------------------


def subscription_grant_pro(*, user: Any, granted_by: Any = None) -> None:
    """Make `user` Pro through the state machine: an active staff-granted subscription of
    SUBSCRIPTION_PERIOD_DAYS that rolls on until revoked, with today's daily credits."""
    subscription_apply(user=user, trigger=Trigger.STAFF_GRANT, actor=granted_by)
    if hasattr(user, "refresh_from_db"):
        user.refresh_from_db(fields=["tier", "updated_at"])


def subscription_revoke_pro(*, user: Any, revoked_by: Any = None) -> None:
    """Return `user` to the free tier through the state machine (the subscription expires)."""
    subscription_apply(user=user, trigger=Trigger.STAFF_REVOKE, actor=revoked_by)
    if hasattr(user, "refresh_from_db"):
        user.refresh_from_db(fields=["tier", "updated_at"])
