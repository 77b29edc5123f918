"""The credits endpoints over HTTP (CONTRACT §10, SPA.md §11): shapes the SPA validates,
pagination, ownership of the history, and the /metrics counters."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.services import subscription_grant_pro
from credits import services
from credits.models import CreditEntry, CreditType
from credits.selectors import next_utc_midnight
from perpetua.api.exceptions import InsufficientCredits

pytestmark = pytest.mark.django_db

Z_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_balance_has_daily_beside_daily_free(api, user):
    services.credits_grant_kickstart(user=user)
    services.credits_grant(user=user, credit_type=CreditType.PURCHASED, amount=7, reason="purchase")
    response = api.get("/api/v1/credits/balance")
    assert response.status_code == 200
    assert response.json() == {
        "data": {"daily_free": 0, "daily": 0, "kickstart": 5, "subscription": 0, "purchased": 7, "total": 12}
    }


def test_ai_credits_has_balance_reset_time_and_tier(client_for, user):
    subscription_grant_pro(user=user)
    response = client_for(user).get("/api/v1/ai/credits")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["balance"] == {"daily_free": 10, "kickstart": 0, "subscription": 0, "purchased": 0, "total": 10}
    assert data["tier"] == "pro"
    assert Z_DATETIME.match(data["daily_reset_at"])
    assert data["daily_reset_at"] == next_utc_midnight().strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_history_is_newest_first_with_the_spa_fields(api, user, make_user):
    services.credits_grant_kickstart(user=user)
    reservation = services.credits_reserve(user=user, amount=2, reason="chat")
    services.credits_refund(reservation_id=reservation.id)
    services.credits_debit(user=user, amount=1, reason="note_convert")
    services.credits_grant_kickstart(user=make_user())  # someone else's ledger stays out

    response = api.get("/api/v1/credits/history?limit=50")
    assert response.status_code == 200
    body = response.json()
    assert body["pagination"] == {"offset": 0, "limit": 50, "total": 4, "has_more": False}
    rows = [(e["type"], e["category"], e["amount"], e["balance_after"], e["description"]) for e in body["data"]]
    assert rows == [
        ("deduct", "ai", -1, 4, "AI note conversion"),
        ("grant", "kickstart", 2, 5, "Refund: AI chat"),
        ("deduct", "ai", -2, 3, "AI chat"),
        ("grant", "kickstart", 5, 5, "Kickstart credits"),
    ]
    for entry in body["data"]:
        assert str(uuid.UUID(entry["id"])) == entry["id"]
        assert entry["user_id"] == str(user.pk)
        assert entry["credit_type"] == "kickstart"
        assert entry["operation"] in ("grant", "consume", "refund")
        assert Z_DATETIME.match(entry["created_at"]) and Z_DATETIME.match(entry["updated_at"])
        assert entry["expires_at"] is None
    assert body["data"][-1]["operation_ref"] == "kickstart"


def test_history_categories_and_descriptions_of_daily_and_purchased(client_for, pro_user):
    services.daily_credits_run(now=next_utc_midnight().replace(day=1, month=1, year=2026))
    services.daily_credits_run(now=next_utc_midnight().replace(day=2, month=1, year=2026))
    services.credits_grant_purchase(user=pro_user, amount=10, operation_ref="pay_1")
    data = client_for(pro_user).get("/api/v1/credits/history").json()["data"]
    assert [(e["type"], e["category"], e["description"]) for e in data] == [
        ("grant", "purchase", "Purchased credits"),
        ("deduct", "daily", "Expired daily credits"),  # the 2nd's credits, long past their midnight
        ("grant", "daily", "Daily credits"),
        ("deduct", "daily", "Expired daily credits"),
        ("grant", "daily", "Daily credits"),
    ]
    assert data[2]["expires_at"] == "2026-01-03T00:00:00.000Z"


def test_history_pagination_is_validated_and_costs_constant_queries(api, user):
    assert api.get("/api/v1/credits/history?limit=101").status_code == 400
    assert api.get("/api/v1/credits/history?offset=x").status_code == 400
    services.credits_grant_kickstart(user=user)
    with CaptureQueriesContext(connection) as one:
        api.get("/api/v1/credits/history")
    for _ in range(10):
        services.credits_grant(user=user, credit_type=CreditType.PURCHASED, amount=1, reason="admin")
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/credits/history").json()["data"]) == 11
    assert len(one) == len(many)


def test_credits_endpoints_need_authentication(anon_client):
    for path in ("/api/v1/credits/balance", "/api/v1/credits/history", "/api/v1/ai/credits"):
        assert anon_client.get(path).status_code == 401


def test_metrics_count_credits_granted_and_consumed_by_type(
    user, anon_client, settings, django_capture_on_commit_callbacks
):
    settings.METRICS_TOKEN = "s3cret"

    def scrape() -> str:
        return anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").content.decode()

    def value(text: str, series: str) -> float:
        match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    granted = 'perpetua_credits_granted_total{credit_type="kickstart"}'
    consumed = 'perpetua_credits_consumed_total{credit_type="kickstart",operation="chat"}'
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        services.credits_grant_kickstart(user=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.credits_debit(user=user, amount=2, reason="chat")
    after = scrape()
    assert value(after, granted) - value(before, granted) == 5
    assert value(after, consumed) - value(before, consumed) == 2


def test_a_rolled_back_debit_is_not_counted(user, django_capture_on_commit_callbacks):
    services.credits_grant(user=user, credit_type=CreditType.KICKSTART, amount=1, reason="admin")
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(InsufficientCredits):
            services.credits_debit(user=user, amount=2, reason="chat")
    assert callbacks == []
    assert CreditEntry.objects.filter(user=user).count() == 1
