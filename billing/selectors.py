"""Reads of billing: a user's subscription as `GET /subscription` shows it, and the staff
dashboard's numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from accounts import selectors as accounts_selectors
from accounts.models import Tier
from billing.models import PRO_STATUSES, Subscription, SubscriptionStatus
from credits import selectors as credits_selectors
from gamification import selectors as gamification_selectors
from recovery import selectors as recovery_selectors


@dataclass(frozen=True)
class SubscriptionView:
    """What `GET /subscription` answers (CONTRACT §12): a free user who never subscribed has
    `status` and `current_period_end` null."""

    tier: str
    status: str | None
    current_period_start: dt.datetime | None
    current_period_end: dt.datetime | None
    cancel_at_period_end: bool
    failed_payment_count: int
    grace_until: dt.datetime | None
    features: dict[str, Any]


def subscription_for_user(*, user: Any) -> SubscriptionView:
    """The caller's subscription and the features of their tier; one query for the row
    (and the limits' perks query)."""
    sub = Subscription.objects.filter(user_id=user.pk).first()
    limits = gamification_selectors.limits_for_user(user=user)
    is_pro = user.tier == Tier.PRO
    features = {
        "max_subtasks": limits.max_subtasks,
        "max_description_length": limits.max_description_length,
        "voice_notes": is_pro,
        "monthly_credits": settings.PRO_SUBSCRIPTION_CREDITS if is_pro else 0,
    }
    if sub is None or sub.status is None:
        return SubscriptionView(
            tier=user.tier, status=None, current_period_start=None, current_period_end=None,
            cancel_at_period_end=False, failed_payment_count=0, grace_until=None, features=features,
        )  # fmt: skip
    return SubscriptionView(
        tier=user.tier,
        status=sub.status,
        current_period_start=sub.current_period_start,
        current_period_end=sub.current_period_end,
        cancel_at_period_end=sub.cancel_at_period_end,
        failed_payment_count=sub.failed_payment_count,
        grace_until=sub.grace_until,
        features=features,
    )


def access_until(*, subscription: Subscription, now: dt.datetime | None = None) -> dt.datetime:
    """When Pro ends for a cancelled subscription: the period's end (now when it is over)."""
    now = now or timezone.now()
    if subscription.status in PRO_STATUSES and subscription.current_period_end:
        return max(subscription.current_period_end, now)
    return now


@dataclass(frozen=True)
class Dashboard:
    users_by_tier: dict[str, int]
    subscriptions_by_status: dict[str, int]
    days: list[dt.date]
    credits_consumed: list[int]
    ai_calls: list[int]

    @property
    def active_subscriptions(self) -> int:
        return sum(self.subscriptions_by_status.get(status, 0) for status in PRO_STATUSES)


def dashboard_numbers(*, days: int = 30, now: dt.datetime | None = None) -> Dashboard:
    """The staff dashboard: users by tier, subscriptions by status, credits consumed and AI
    calls (activity entries with source "ai") per UTC day over the last `days` days.
    Four queries, whatever the data."""
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    day_list = [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = dt.datetime.combine(day_list[0], dt.time.min, tzinfo=dt.UTC)
    by_status = dict.fromkeys(SubscriptionStatus.values, 0)
    rows = Subscription.objects.exclude(status__isnull=True).values_list("status").annotate(n=Count("pk")).order_by()
    by_status.update(dict(rows))
    consumed = credits_selectors.credits_consumed_per_day(since=since)
    ai_calls = recovery_selectors.activity_count_per_day(since=since, source="ai")
    return Dashboard(
        users_by_tier=accounts_selectors.users_count_by_tier(),
        subscriptions_by_status=by_status,
        days=day_list,
        credits_consumed=[consumed.get(day, 0) for day in day_list],
        ai_calls=[ai_calls.get(day, 0) for day in day_list],
    )
