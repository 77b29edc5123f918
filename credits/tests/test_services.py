"""The ledger service on PostgreSQL (CONTRACT §10): grants, consumption order, reservations,
expiry at the UTC boundary and the daily command. The clock is passed in as `now=`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from model_bakery import baker

from accounts.models import User
from billing.services import subscription_grant_pro
from credits import selectors, services
from credits.models import CreditEntry, CreditReservation, CreditType, Operation
from credits.tests.conftest import utc
from perpetua.api.exceptions import InsufficientCredits, LimitExceeded

pytestmark = pytest.mark.django_db


def grant(user, credit_type, amount, now=None):
    return services.credits_grant(user=user, credit_type=credit_type, amount=amount, reason="admin", now=now)


def balance(user, now=None):
    return selectors.balance_for_user(user=user, now=now)


# --- kickstart ----------------------------------------------------------------------------------


def test_sign_up_grants_five_kickstart_credits_once(assert_ledger_consistent):
    for _ in range(2):
        call_command("issue_token", "new@example.com", stdout=io.StringIO())
    user = User.objects.get(email="new@example.com")
    entries = list(CreditEntry.objects.filter(user=user))
    assert [(e.credit_type, e.operation, e.amount, e.balance_after) for e in entries] == [("kickstart", "grant", 5, 5)]
    assert balance(user).kickstart == 5
    assert services.credits_grant_kickstart(user=user) is None  # a second grant is refused by its ref
    assert balance(user).total == 5
    assert_ledger_consistent(user)


def test_kickstart_amount_comes_from_settings(settings):
    settings.KICKSTART_CREDITS = 7
    call_command("issue_token", "seven@example.com", stdout=io.StringIO())
    assert balance(User.objects.get(email="seven@example.com")).kickstart == 7


# --- debits ----------------------------------------------------------------------------------------


def test_consumption_order_daily_kickstart_subscription_purchased_with_a_split(pro_user, assert_ledger_consistent):
    now = utc(2026, 1, 19, 10)
    grant(pro_user, CreditType.PURCHASED, 10, now)
    grant(pro_user, CreditType.SUBSCRIPTION, 3, now)
    grant(pro_user, CreditType.KICKSTART, 5, now)
    grant(pro_user, CreditType.DAILY, 2, now)

    first = services.credits_debit(user=pro_user, amount=4, reason="chat", now=now)
    assert first.parts == {"daily": 2, "kickstart": 2}  # daily is used up, the rest from kickstart
    assert first.remaining == 16
    second = services.credits_debit(user=pro_user, amount=5, reason="chat", now=now)
    assert second.parts == {"kickstart": 3, "subscription": 2}
    third = services.credits_debit(user=pro_user, amount=2, reason="chat", now=now)
    assert third.parts == {"subscription": 1, "purchased": 1}
    assert balance(pro_user, now) == selectors.Balance(purchased=9)

    consumes = CreditEntry.objects.filter(user=pro_user, operation=Operation.CONSUME).order_by("created_at", "id")
    assert sorted((e.credit_type, e.amount) for e in consumes) == sorted(
        [("daily", -2), ("kickstart", -2), ("kickstart", -3), ("subscription", -2), ("subscription", -1),
         ("purchased", -1)]
    )  # fmt: skip
    assert min(e.balance_after for e in CreditEntry.objects.filter(user=pro_user)) == 9
    assert_ledger_consistent(pro_user)


def test_a_debit_larger_than_the_balance_is_402_and_writes_nothing(user):
    grant(user, CreditType.KICKSTART, 2)
    with pytest.raises(InsufficientCredits) as raised:
        services.credits_debit(user=user, amount=3, reason="chat")
    assert raised.value.status_code == 402 and raised.value.code == "INSUFFICIENT_CREDITS"
    assert CreditEntry.objects.filter(user=user, operation=Operation.CONSUME).count() == 0
    assert balance(user).total == 2


def test_a_debit_with_a_ref_charges_once(user):
    grant(user, CreditType.KICKSTART, 5)
    first = services.credits_debit(user=user, amount=2, reason="transcribe", operation_ref="voice:abc")
    again = services.credits_debit(user=user, amount=2, reason="transcribe", operation_ref="voice:abc")
    assert first.parts == again.parts == {"kickstart": 2}
    assert balance(user).total == 3


# --- reserve, commit, refund -----------------------------------------------------------------------


def test_reserve_then_refund_gives_everything_back_once(user, assert_ledger_consistent):
    grant(user, CreditType.KICKSTART, 1)
    grant(user, CreditType.PURCHASED, 5)
    reservation = services.credits_reserve(user=user, amount=3, reason="chat")
    assert reservation.parts == {"kickstart": 1, "purchased": 2}
    assert balance(user).total == 3

    assert services.credits_refund(reservation_id=reservation.id) is not None
    assert services.credits_refund(reservation_id=reservation.id) is None  # exactly once
    assert services.credits_commit(reservation_id=reservation.id) is None  # settled already
    assert balance(user) == selectors.Balance(kickstart=1, purchased=5)
    refunds = CreditEntry.objects.filter(user=user, operation=Operation.REFUND)
    assert sorted((e.credit_type, e.amount) for e in refunds) == [("kickstart", 1), ("purchased", 2)]
    assert CreditReservation.objects.get(id=reservation.id).state == "refunded"
    assert_ledger_consistent(user)


def test_commit_keeps_the_credits_and_a_smaller_commit_refunds_the_rest(user, assert_ledger_consistent):
    grant(user, CreditType.PURCHASED, 20)
    kept = services.credits_reserve(user=user, amount=5, reason="transcribe")
    assert services.credits_commit(reservation_id=kept.id) is not None
    assert services.credits_refund(reservation_id=kept.id) is None  # a committed reservation stays spent
    assert balance(user).total == 15

    partial = services.credits_reserve(user=user, amount=10, reason="transcribe")
    services.credits_commit(reservation_id=partial.id, amount=5)
    assert balance(user).total == 10
    assert_ledger_consistent(user)


def test_reserving_more_than_the_balance_is_402_and_leaves_no_reservation(user):
    grant(user, CreditType.KICKSTART, 1)
    with pytest.raises(InsufficientCredits):
        services.credits_reserve(user=user, amount=2, reason="chat")
    assert not CreditReservation.objects.exists()


def test_refund_after_midnight_gives_back_no_expired_daily_credit(pro_user, assert_ledger_consistent):
    evening = utc(2026, 1, 19, 23, 59)
    grant(pro_user, CreditType.DAILY, 1, evening)
    grant(pro_user, CreditType.PURCHASED, 1, evening)
    reservation = services.credits_reserve(user=pro_user, amount=2, reason="chat", now=evening)
    services.credits_refund(reservation_id=reservation.id, now=utc(2026, 1, 20, 0, 0, 1))
    assert balance(pro_user, utc(2026, 1, 20, 0, 0, 1)) == selectors.Balance(purchased=1)
    assert_ledger_consistent(pro_user)


# --- daily credits and their expiry ---------------------------------------------------------------------


def test_daily_credits_expire_exactly_at_utc_midnight(pro_user, assert_ledger_consistent):
    services.credits_grant_daily(user=pro_user, now=utc(2026, 1, 19, 8))
    entry = CreditEntry.objects.get(user=pro_user, credit_type="daily")
    assert entry.expires_at == utc(2026, 1, 20)
    assert balance(pro_user, utc(2026, 1, 19, 23, 59, 59, 999999)).daily == 10
    assert balance(pro_user, utc(2026, 1, 20)).daily == 0  # a read already leaves them out

    grant(pro_user, CreditType.PURCHASED, 1, utc(2026, 1, 19, 9))
    debit = services.credits_debit(user=pro_user, amount=1, reason="chat", now=utc(2026, 1, 20, 0, 0, 0, 1))
    assert debit.parts == {"purchased": 1}  # the daily credits were gone at 00:00
    expired = CreditEntry.objects.get(user=pro_user, operation=Operation.EXPIRE)
    assert (expired.amount, expired.operation_ref) == (-10, "daily:2026-01-19")
    assert_ledger_consistent(pro_user)


def test_becoming_pro_grants_todays_daily_credits_with_perks(user, assert_ledger_consistent):
    definition = baker.make(
        "gamification.AchievementDefinition", code="streak_test", perk_type="daily_credits", perk_value=2, threshold=1
    )
    baker.make("gamification.UserAchievement", user=user, definition=definition)
    assert services.credits_grant_daily(user=user) is None  # free users get no daily credits
    subscription_grant_pro(user=user)
    assert balance(user).daily == 12
    subscription_grant_pro(user=user)  # once per day
    assert balance(user).daily == 12
    assert_ledger_consistent(user)


def test_the_daily_command_twice_the_same_day_changes_nothing_the_second_time(pro_user, user):
    day = utc(2026, 1, 19, 0, 5)
    first = services.daily_credits_run(now=day)
    assert (first.granted_users, first.expired_users) == (1, 0)
    rows = CreditEntry.objects.count()
    second = services.daily_credits_run(now=utc(2026, 1, 19, 0, 6))
    assert (second.granted_users, second.expired_users, second.expired_credits) == (0, 0, 0)
    assert CreditEntry.objects.count() == rows
    assert balance(pro_user, day).daily == 10
    assert balance(user, day).total == 0  # free users get nothing


def test_the_daily_command_after_a_missed_day_expires_the_old_credits_and_grants_todays(
    pro_user, assert_ledger_consistent
):
    services.daily_credits_run(now=utc(2026, 1, 19, 0, 5))
    services.credits_debit(user=pro_user, amount=3, reason="chat", now=utc(2026, 1, 19, 12))
    # no run on the 20th
    run = services.daily_credits_run(now=utc(2026, 1, 21, 0, 5))
    assert (run.expired_users, run.expired_credits, run.granted_users) == (1, 7, 1)
    entries = CreditEntry.objects.filter(user=pro_user, credit_type="daily").order_by("created_at", "id")
    assert [(e.operation, e.amount, e.operation_ref) for e in entries] == [
        ("grant", 10, "daily:2026-01-19"),
        ("consume", -3, None),
        ("expire", -7, "daily:2026-01-19"),
        ("grant", 10, "daily:2026-01-21"),
    ]
    assert balance(pro_user, utc(2026, 1, 21, 1)).daily == 10
    assert_ledger_consistent(pro_user)


def test_expire_daily_credits_command_prints_what_it_did(pro_user):
    out = io.StringIO()
    call_command("expire_daily_credits", stdout=out)
    assert "1 user(s) granted" in out.getvalue()
    assert balance(pro_user).daily == 10


# --- subscription and purchased credits (called by the billing issue) -------------------------------------


def test_a_new_subscription_period_carries_over_at_most_50(pro_user, assert_ledger_consistent):
    services.credits_grant_subscription(user=pro_user, period_ref="2026-01")
    services.credits_debit(user=pro_user, amount=20, reason="chat")  # 80 left, 30 over the carry-over cap
    services.credits_grant_subscription(user=pro_user, period_ref="2026-02")
    assert balance(pro_user).subscription == 150
    assert services.credits_grant_subscription(user=pro_user, period_ref="2026-02") is None
    assert balance(pro_user).subscription == 150
    assert_ledger_consistent(pro_user)


def test_purchases_are_capped_per_month_and_a_replayed_payment_grants_nothing(user):
    now = utc(2026, 1, 19)
    services.credits_check_purchase_allowed(user=user, amount=500, now=now)
    assert services.credits_grant_purchase(user=user, amount=450, operation_ref="pay_1") is not None
    assert services.credits_grant_purchase(user=user, amount=450, operation_ref="pay_1") is None
    with pytest.raises(LimitExceeded):
        services.credits_check_purchase_allowed(user=user, amount=51)
    services.credits_check_purchase_allowed(user=user, amount=50)
    assert balance(user).purchased == 450


def test_amounts_must_be_positive_integers(user):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            services.credits_debit(user=user, amount=bad, reason="chat")
    with pytest.raises(ValueError):
        grant(user, "gold", 1)
