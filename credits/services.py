"""Every movement of AI credits (CONTRACT §10): THE one place credits are granted, spent,
expired and refunded. Sign-up (kickstart), billing (Pro daily, subscription, purchases),
the AI endpoints (reserve → commit | refund), the daily command and the admin all call
these functions; nothing else writes the ledger.

How it cannot lose, double-spend or invent a credit:

* every movement runs in one transaction that first locks the user's `CreditAccount`
  row (`SELECT ... FOR UPDATE`), so one user's movements take turns in PostgreSQL, and
  the per-type columns are changed in the same transaction as the ledger entries that
  explain them (so they always equal the ledger's sums);
* CHECK constraints refuse a negative balance, whatever the caller;
* one (user, operation, type, `operation_ref`) happens at most once (a unique index):
  the kickstart grant, a day's daily grant, a day's expiry and a reservation's refund
  are idempotent in the database, not only in Python;
* a reservation is settled by one conditional UPDATE (`state = 'reserved'`), so
  commit and refund happen exactly once between them.

Daily credits expire at the UTC midnight after their grant. The expiry entry is written
by `daily_credits_run` (cron) or, when that has not run yet, by the next movement of the
user; reads already leave expired daily credits out (`credits.selectors`).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Tier, User
from credits.models import (
    CONSUMPTION_ORDER,
    CreditAccount,
    CreditEntry,
    CreditReservation,
    CreditType,
    Operation,
    ReservationState,
)
from credits.selectors import next_utc_midnight, purchased_in_month
from gamification import selectors as gamification_selectors
from perpetua.api.exceptions import InsufficientCredits, LimitExceeded
from perpetua.api.metrics import CREDITS_CONSUMED, CREDITS_EXPIRED, CREDITS_GRANTED, CREDITS_REFUNDED

logger = logging.getLogger(__name__)

KICKSTART_REF = "kickstart"


def _user_id(user: Any) -> Any:
    return getattr(user, "pk", user)


def _positive(amount: Any) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise ValueError(f"a credit amount is a positive integer, not {amount!r}")
    return amount


# --- the locked account and the one write of an entry ---------------------------------------


@dataclass
class _Movement:
    """The entries one transaction wrote, counted into /metrics once it commits."""

    entries: list[CreditEntry] = field(default_factory=list)

    def count_on_commit(self) -> None:
        entries = list(self.entries)
        transaction.on_commit(lambda: _count(entries))


def _count(entries: Iterable[CreditEntry]) -> None:
    for entry in entries:
        if entry.operation == Operation.GRANT:
            CREDITS_GRANTED.labels(credit_type=entry.credit_type).inc(entry.amount)
        elif entry.operation == Operation.CONSUME:
            CREDITS_CONSUMED.labels(credit_type=entry.credit_type, operation=entry.reason).inc(-entry.amount)
        elif entry.operation == Operation.EXPIRE:
            CREDITS_EXPIRED.labels(credit_type=entry.credit_type).inc(-entry.amount)
        elif entry.operation == Operation.REFUND:
            CREDITS_REFUNDED.labels(credit_type=entry.credit_type).inc(entry.amount)


def _account_lock(*, user_id: Any) -> CreditAccount:
    """The user's account row, locked until commit; created on the user's first movement
    (`ON CONFLICT DO NOTHING`: a concurrent first movement makes this wait, then reuse it)."""
    account = CreditAccount.objects.select_for_update().filter(user_id=user_id).first()
    if account is None:
        CreditAccount.objects.bulk_create([CreditAccount(user_id=user_id)], ignore_conflicts=True)
        account = CreditAccount.objects.select_for_update().get(user_id=user_id)
    return account


def _account_save(account: CreditAccount) -> None:
    account.save(update_fields=[*CONSUMPTION_ORDER, "daily_expires_at", "updated_at"])


def _write(
    *,
    account: CreditAccount,
    movement: _Movement,
    credit_type: str,
    amount: int,
    operation: str,
    reason: str,
    operation_ref: str | None = None,
    expires_at: dt.datetime | None = None,
) -> CreditEntry:
    """Append one entry and move the account's column by the same amount (caller holds the lock)."""
    setattr(account, credit_type, getattr(account, credit_type) + amount)
    entry = CreditEntry.objects.create(
        user_id=account.user_id,
        credit_type=credit_type,
        amount=amount,
        balance_after=account.total,
        operation=operation,
        operation_ref=operation_ref,
        reason=reason,
        expires_at=expires_at,
    )
    movement.entries.append(entry)
    return entry


def _happened(*, user_id: Any, operation: str, credit_type: str, operation_ref: str) -> bool:
    return CreditEntry.objects.filter(
        user_id=user_id, operation=operation, credit_type=credit_type, operation_ref=operation_ref
    ).exists()


def _expire_daily(*, account: CreditAccount, movement: _Movement, now: dt.datetime) -> int:
    """Write off daily credits whose UTC midnight has passed; returns how many."""
    expires_at = account.daily_expires_at
    if expires_at is None or expires_at > now:
        return 0
    expired = account.daily
    if expired:
        day = (expires_at - dt.timedelta(days=1)).astimezone(dt.UTC).date()
        _write(
            account=account, movement=movement, credit_type=CreditType.DAILY, amount=-expired,
            operation=Operation.EXPIRE, reason="daily", operation_ref=f"daily:{day.isoformat()}",
        )  # fmt: skip
    account.daily_expires_at = None
    return expired


# --- grants ------------------------------------------------------------------------------------


def credits_grant(
    *,
    user: Any,
    credit_type: str,
    amount: int,
    reason: str,
    operation_ref: str | None = None,
    now: dt.datetime | None = None,
) -> CreditEntry | None:
    """Add `amount` credits of `credit_type` (CONTRACT §10). With an `operation_ref`, a
    second grant of the same ref is a no-op and returns None. Daily credits expire at the
    next UTC midnight; the other types never expire."""
    amount = _positive(amount)
    if credit_type not in CreditType.values:
        raise ValueError(f"unknown credit type {credit_type!r}")
    now = now or timezone.now()
    movement = _Movement()
    with transaction.atomic():
        account = _account_lock(user_id=_user_id(user))
        _expire_daily(account=account, movement=movement, now=now)
        if operation_ref is not None and _happened(
            user_id=account.user_id, operation=Operation.GRANT, credit_type=credit_type, operation_ref=operation_ref
        ):
            return None
        expires_at = None
        if credit_type == CreditType.DAILY:
            expires_at = next_utc_midnight(now=now)
            account.daily_expires_at = expires_at
        entry = _write(
            account=account, movement=movement, credit_type=credit_type, amount=amount, operation=Operation.GRANT,
            reason=reason, operation_ref=operation_ref, expires_at=expires_at,
        )  # fmt: skip
        _account_save(account)
        movement.count_on_commit()
    return entry


def credits_grant_kickstart(*, user: Any) -> CreditEntry | None:
    """KICKSTART_CREDITS once per account (CONTRACT §10), from `onboarding`'s sign-up; the
    unique ref makes a second call a no-op even if sign-up ran twice."""
    if settings.KICKSTART_CREDITS < 1:
        return None
    return credits_grant(
        user=user,
        credit_type=CreditType.KICKSTART,
        amount=settings.KICKSTART_CREDITS,
        reason="kickstart",
        operation_ref=KICKSTART_REF,
    )


def credits_grant_daily(*, user: Any, now: dt.datetime | None = None) -> CreditEntry | None:
    """Today's (UTC) daily credits of a Pro user: 10 + `daily_credits` perks, once per day,
    expiring at the next UTC midnight (CONTRACT §10, §16). None for a free user or when
    today's grant exists already."""
    if getattr(user, "tier", None) != Tier.PRO:
        return None
    now = now or timezone.now()
    amount = gamification_selectors.limits_for_user(user=user).daily_ai_credits
    if amount < 1:
        return None
    day = now.astimezone(dt.UTC).date()
    return credits_grant(
        user=user,
        credit_type=CreditType.DAILY,
        amount=amount,
        reason="daily",
        operation_ref=f"daily:{day.isoformat()}",
        now=now,
    )


def credits_grant_subscription(*, user: Any, period_ref: str, now: dt.datetime | None = None) -> CreditEntry | None:
    """A paid period's PRO_SUBSCRIPTION_CREDITS (CONTRACT §10), for the billing issue: unused
    subscription credits above SUBSCRIPTION_CARRYOVER_MAX expire first, then the period's
    credits are granted; once per `period_ref`."""
    ref = f"subscription:{period_ref}"
    now = now or timezone.now()
    movement = _Movement()
    with transaction.atomic():
        account = _account_lock(user_id=_user_id(user))
        if _happened(
            user_id=account.user_id, operation=Operation.GRANT, credit_type=CreditType.SUBSCRIPTION, operation_ref=ref
        ):
            return None
        _expire_daily(account=account, movement=movement, now=now)
        excess = account.subscription - settings.SUBSCRIPTION_CARRYOVER_MAX
        if excess > 0:
            _write(
                account=account, movement=movement, credit_type=CreditType.SUBSCRIPTION, amount=-excess,
                operation=Operation.EXPIRE, reason="subscription", operation_ref=ref,
            )  # fmt: skip
        entry = None
        if settings.PRO_SUBSCRIPTION_CREDITS > 0:
            entry = _write(
                account=account, movement=movement, credit_type=CreditType.SUBSCRIPTION,
                amount=settings.PRO_SUBSCRIPTION_CREDITS, operation=Operation.GRANT, reason="subscription",
                operation_ref=ref,
            )  # fmt: skip
        _account_save(account)
        movement.count_on_commit()
    return entry


def credits_check_purchase_allowed(*, user: Any, amount: int, now: dt.datetime | None = None) -> None:
    """At most MAX_PURCHASED_CREDITS_PER_MONTH purchased per UTC calendar month (CONTRACT §10,
    §12), else 409 LIMIT_EXCEEDED; the billing issue checks this before a checkout."""
    _positive(amount)
    limit = settings.MAX_PURCHASED_CREDITS_PER_MONTH
    bought = purchased_in_month(user=user, now=now)
    if bought + amount > limit:
        raise LimitExceeded(
            f"You can buy at most {limit} credits per month ({max(limit - bought, 0)} left).", limit=limit
        )


def credits_grant_purchase(*, user: Any, amount: int, operation_ref: str) -> CreditEntry | None:
    """Purchased credits, never expiring (CONTRACT §10); `operation_ref` (the payment id)
    makes a replayed webhook a no-op. The monthly cap is checked before the checkout,
    not here: a paid purchase is always credited."""
    return credits_grant(
        user=user,
        credit_type=CreditType.PURCHASED,
        amount=amount,
        reason="purchase",
        operation_ref=f"purchase:{operation_ref}",
    )


def credits_admin_grant(*, user: Any, credit_type: str, amount: int, staff: Any = None) -> CreditEntry:
    """A staff grant from the admin (CONTRACT §15): an ordinary grant with a fresh ref."""
    entry = credits_grant(
        user=user,
        credit_type=credit_type,
        amount=amount,
        reason="admin",
        operation_ref=f"admin:{uuid.uuid4()}",
    )
    assert entry is not None  # a fresh ref is never a replay
    logger.info("staff %s granted %s %s credits to %s", getattr(staff, "pk", None), amount, credit_type, _user_id(user))
    return entry


# --- debits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Debit:
    """How a debit was split across credit types, and the total left after it."""

    parts: dict[str, int]
    remaining: int


def _take(
    *, account: CreditAccount, movement: _Movement, amount: int, reason: str, operation_ref: str | None,
    now: dt.datetime,
) -> dict[str, int]:  # fmt: skip
    """Consume `amount` in the order daily → kickstart → subscription → purchased, split
    across types when one is not enough; 402 when the total is short (nothing written)."""
    _expire_daily(account=account, movement=movement, now=now)
    if amount > account.total:
        raise InsufficientCredits(
            f"This needs {amount} credit(s); you have {account.total}.", required=amount, available=account.total
        )
    parts: dict[str, int] = {}
    left = amount
    for credit_type in CONSUMPTION_ORDER:
        take = min(left, getattr(account, credit_type))
        if take:
            _write(
                account=account, movement=movement, credit_type=credit_type, amount=-take,
                operation=Operation.CONSUME, reason=reason, operation_ref=operation_ref,
            )  # fmt: skip
            parts[credit_type] = take
            left -= take
        if not left:
            break
    return parts


def credits_debit(
    *, user: Any, amount: int, reason: str, operation_ref: str | None = None, now: dt.datetime | None = None
) -> Debit:
    """Spend `amount` credits now (CONTRACT §10), e.g. the voice relay's charge at the end
    of a session. Never overdraws: of concurrent debits of the last credit one succeeds,
    the others are 402 INSUFFICIENT_CREDITS. With an `operation_ref`, a repeated debit of
    the same ref charges nothing again and returns the first one."""
    amount = _positive(amount)
    now = now or timezone.now()
    movement = _Movement()
    with transaction.atomic():
        account = _account_lock(user_id=_user_id(user))
        if operation_ref is not None:
            done = dict(
                CreditEntry.objects.filter(
                    user_id=account.user_id, operation=Operation.CONSUME, operation_ref=operation_ref
                ).values_list("credit_type", "amount")
            )
            if done:
                return Debit(parts={t: -n for t, n in done.items()}, remaining=account.total)
        parts = _take(
            account=account, movement=movement, amount=amount, reason=reason, operation_ref=operation_ref, now=now
        )
        _account_save(account)
        movement.count_on_commit()
    return Debit(parts=parts, remaining=account.total)


def credits_reserve(*, user: Any, amount: int, reason: str, now: dt.datetime | None = None) -> CreditReservation:
    """Debit `amount` before a provider call (CONTRACT §8): the credits are spent at once
    (so concurrent calls cannot spend them twice), then `credits_commit` keeps them or
    `credits_refund` gives them back, exactly once."""
    amount = _positive(amount)
    now = now or timezone.now()
    movement = _Movement()
    with transaction.atomic():
        account = _account_lock(user_id=_user_id(user))
        reservation = CreditReservation(id=uuid.uuid4(), user_id=account.user_id, amount=amount, reason=reason)
        daily_expires_at = account.daily_expires_at
        reservation.parts = _take(
            account=account, movement=movement, amount=amount, reason=reason,
            operation_ref=f"reservation:{reservation.id}", now=now,
        )  # fmt: skip
        if CreditType.DAILY in reservation.parts:
            reservation.daily_expires_at = daily_expires_at
        reservation.save(force_insert=True)
        _account_save(account)
        movement.count_on_commit()
    return reservation


def _give_back(
    *, account: CreditAccount, movement: _Movement, reservation: CreditReservation, amount: int, now: dt.datetime
) -> int:
    """Refund up to `amount` of a reservation, last-consumed type first. Daily credits whose
    midnight has passed since the reservation stay spent (they would have expired)."""
    _expire_daily(account=account, movement=movement, now=now)
    given = 0
    for credit_type in reversed(CONSUMPTION_ORDER):
        part = min(int(reservation.parts.get(credit_type, 0)), amount - given)
        if part <= 0:
            continue
        if credit_type == CreditType.DAILY:
            if reservation.daily_expires_at is None or reservation.daily_expires_at <= now:
                continue
            account.daily_expires_at = reservation.daily_expires_at
        _write(
            account=account, movement=movement, credit_type=credit_type, amount=part, operation=Operation.REFUND,
            reason=reservation.reason, operation_ref=f"reservation:{reservation.id}",
        )  # fmt: skip
        given += part
    return given


def _settle(
    *, reservation_id: uuid.UUID | str, state: str, keep: int | None, now: dt.datetime | None
) -> CreditReservation | None:
    """Move a reservation out of `reserved` with one conditional UPDATE (so it is settled exactly
    once, also under concurrent calls), then give back what is not kept: `keep` credits stay
    spent (None: all of them). None when it was settled already."""
    now = now or timezone.now()
    movement = _Movement()
    with transaction.atomic():
        settled = CreditReservation.objects.filter(id=reservation_id, state=ReservationState.RESERVED).update(
            state=state, settled_at=now, updated_at=now
        )
        if not settled:
            return None
        reservation = CreditReservation.objects.get(id=reservation_id)
        kept = reservation.amount if keep is None else keep
        if kept > reservation.amount:
            raise ValueError("cannot keep more credits than were reserved")
        if kept < reservation.amount:
            account = _account_lock(user_id=reservation.user_id)
            _give_back(
                account=account, movement=movement, reservation=reservation, amount=reservation.amount - kept, now=now
            )
            _account_save(account)
        movement.count_on_commit()
    return reservation


def credits_commit(
    *, reservation_id: uuid.UUID | str, amount: int | None = None, now: dt.datetime | None = None
) -> CreditReservation | None:
    """The provider call succeeded: keep the reserved credits, or only `amount` of them (the
    rest is refunded). None when the reservation was already committed or refunded."""
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise ValueError(f"a committed amount is a non-negative integer, not {amount!r}")
    return _settle(reservation_id=reservation_id, state=ReservationState.COMMITTED, keep=amount, now=now)


def credits_refund(*, reservation_id: uuid.UUID | str, now: dt.datetime | None = None) -> CreditReservation | None:
    """The provider call failed: give the reserved credits back, exactly once (CONTRACT §8).
    None when the reservation was already committed or refunded."""
    return _settle(reservation_id=reservation_id, state=ReservationState.REFUNDED, keep=0, now=now)


# --- the daily command ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyRun:
    expired_users: int
    expired_credits: int
    granted_users: int


def daily_credits_run(*, now: dt.datetime | None = None) -> DailyRun:
    """`manage.py expire_daily_credits` (CONTRACT §10, §15): expire every daily credit whose
    UTC midnight has passed, then grant today's to every Pro user. Idempotent: a second run
    the same day finds nothing to expire and today's grants made; after a missed day it
    expires the older credits and grants today's (a missed day is not granted late)."""
    now = now or timezone.now()
    expired_users = expired_credits = granted = 0
    stale = CreditAccount.objects.filter(daily_expires_at__lte=now).values_list("user_id", flat=True)
    for user_id in list(stale.iterator()):
        movement = _Movement()
        with transaction.atomic():
            account = _account_lock(user_id=user_id)
            count = _expire_daily(account=account, movement=movement, now=now)
            _account_save(account)
            movement.count_on_commit()
        if count:
            expired_users += 1
            expired_credits += count
    for user in User.objects.filter(tier=Tier.PRO, is_active=True).order_by("pk").iterator():
        if credits_grant_daily(user=user, now=now) is not None:
            granted += 1
    return DailyRun(expired_users=expired_users, expired_credits=expired_credits, granted_users=granted)
