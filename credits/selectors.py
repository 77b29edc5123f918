"""Reads of the credits ledger (CONTRACT §10): balances, history, the month's purchases.

A balance is the user's `CreditAccount` row (the running sums of the ledger), with one
rule applied at read time: daily credits whose UTC midnight has passed count as 0 even
before their expiry entry is written (by the daily command or the next movement).
Reads never write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from credits.models import CreditAccount, CreditEntry, CreditType, Operation


def next_utc_midnight(*, now: dt.datetime | None = None) -> dt.datetime:
    """The next 00:00 UTC after `now`: when daily credits expire and are granted again."""
    day = (now or timezone.now()).astimezone(dt.UTC).date()
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Balance:
    daily: int = 0
    kickstart: int = 0
    subscription: int = 0
    purchased: int = 0

    @property
    def total(self) -> int:
        return self.daily + self.kickstart + self.subscription + self.purchased


def balance_for_user(*, user: Any, now: dt.datetime | None = None) -> Balance:
    """The user's spendable credits by type, one query."""
    account = CreditAccount.objects.filter(user_id=user.pk).first()
    if account is None:
        return Balance()
    now = now or timezone.now()
    daily_live = account.daily_expires_at is not None and account.daily_expires_at > now
    return Balance(
        daily=account.daily if daily_live else 0,
        kickstart=account.kickstart,
        subscription=account.subscription,
        purchased=account.purchased,
    )


def credits_remaining(*, user: Any, now: dt.datetime | None = None) -> int:
    """The total a response reports as `credits_remaining` (CONTRACT §8)."""
    return balance_for_user(user=user, now=now).total


def history_for_user(*, user: Any) -> QuerySet[CreditEntry]:
    """`GET /credits/history`: the user's ledger, newest first (paginate it: count + page)."""
    return CreditEntry.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def purchased_in_month(*, user: Any, now: dt.datetime | None = None) -> int:
    """Credits the user bought in the current UTC calendar month (the 500/month cap, §10)."""
    now = (now or timezone.now()).astimezone(dt.UTC)
    start = dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)
    total = CreditEntry.objects.filter(
        user_id=user.pk, credit_type=CreditType.PURCHASED, operation=Operation.GRANT, created_at__gte=start
    ).aggregate(n=Sum("amount"))["n"]
    return total or 0


def ledger_sums(*, user: Any) -> dict[str, int]:
    """The ledger's sum per credit type (what the account columns must equal); for audits and tests."""
    rows = CreditEntry.objects.filter(user_id=user.pk).values_list("credit_type").annotate(n=Sum("amount"))
    sums = dict.fromkeys(CreditType.values, 0)
    sums.update(dict(rows.order_by()))
    return sums


def credits_consumed_per_day(*, since: dt.datetime) -> dict[dt.date, int]:
    """Credits spent per UTC day since `since`, net of refunds (the staff dashboard); one
    query. Days without spending are absent."""
    rows = (
        CreditEntry.objects.filter(created_at__gte=since, operation__in=(Operation.CONSUME, Operation.REFUND))
        .annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Sum("amount"))
        .order_by()
    )
    return {day: -n for day, n in rows}
