"""Races the ledger settles in PostgreSQL, with real threads (CONTRACT §8, §10)."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.tests.conftest import FakeGoogle, google, sign_in  # noqa: F401 (fixtures)
from credits import selectors, services
from credits.models import CreditEntry, CreditType, Operation
from onboarding.services import account_get_or_sign_up_by_email
from perpetua.api.exceptions import InsufficientCredits

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_debits_against_three_credits_exactly_three_succeed(
    user, concurrently, assert_ledger_consistent
):
    services.credits_grant(user=user, credit_type=CreditType.KICKSTART, amount=3, reason="admin")

    def debit(i):
        return services.credits_debit(user=user, amount=1, reason="chat")

    results = concurrently(50, debit)
    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"Debit": 3, "InsufficientCredits": 47}, results
    assert selectors.balance_for_user(user=user).total == 0
    assert CreditEntry.objects.filter(user=user, operation=Operation.CONSUME).count() == 3
    assert CreditEntry.objects.filter(user=user, balance_after__lt=0).count() == 0
    assert_ledger_consistent(user)


def test_two_concurrent_reservations_of_the_last_credit_one_is_402(user, concurrently):
    services.credits_grant(user=user, credit_type=CreditType.PURCHASED, amount=1, reason="admin")
    results = concurrently(2, lambda i: services.credits_reserve(user=user, amount=1, reason="chat"))
    assert sorted(type(r).__name__ for r in results) == ["CreditReservation", "InsufficientCredits"]
    assert isinstance(next(r for r in results if isinstance(r, Exception)), InsufficientCredits)


def test_concurrent_refunds_of_one_reservation_refund_once(user, concurrently, assert_ledger_consistent):
    services.credits_grant(user=user, credit_type=CreditType.PURCHASED, amount=4, reason="admin")
    reservation = services.credits_reserve(user=user, amount=3, reason="chat")
    results = concurrently(8, lambda i: services.credits_refund(reservation_id=reservation.id))
    assert sum(r is not None for r in results) == 1
    assert selectors.balance_for_user(user=user).total == 4
    assert CreditEntry.objects.filter(user=user, operation=Operation.REFUND).count() == 1
    assert_ledger_consistent(user)


def test_sign_up_racing_itself_grants_the_kickstart_once(concurrently):
    results = concurrently(8, lambda i: account_get_or_sign_up_by_email(email="race@example.com"))
    assert sum(created for _user, created in results) == 1, results
    user = User.objects.get(email="race@example.com")
    assert CreditEntry.objects.filter(user=user).count() == 1
    assert selectors.balance_for_user(user=user).kickstart == 5


def test_google_sign_in_racing_itself_grants_the_kickstart_once(google, anon_client, concurrently):  # noqa: F811
    token = google.id_token(sub="google-race", email="racer@example.com")

    def sign_in_once(i):
        from rest_framework.test import APIClient

        return APIClient().post("/api/v1/auth/google/callback", {"id_token": token}, format="json").status_code

    statuses = concurrently(6, sign_in_once)
    assert statuses == [200] * 6
    user = User.objects.get(email="racer@example.com")
    assert [(e.credit_type, e.amount) for e in CreditEntry.objects.filter(user=user)] == [("kickstart", 5)]


def test_the_daily_command_run_twice_at_once_grants_once(pro_user, concurrently):
    concurrently(4, lambda i: call_command("expire_daily_credits", stdout=io.StringIO()))
    assert CreditEntry.objects.filter(user=pro_user, credit_type="daily").count() == 1
    assert selectors.balance_for_user(user=pro_user).daily == 10
