"""Billing for staff (CONTRACT §15): Pro actions through the state machine, read-only rows,
and the dashboard (charts from vendored static files, constant queries, staff only)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from model_bakery import baker
from rest_framework.test import APIClient

from accounts.models import User
from billing.models import Subscription, WebhookEvent
from credits import services as credits_services
from recovery.services import activity_record

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/billing/subscription/dashboard/"


@pytest.fixture
def staff_client(client, make_user):
    """A staff member who may only view subscriptions (no superuser powers)."""
    staff = make_user(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    client.force_login(staff)
    return client


def test_grant_and_revoke_pro_actions_go_through_the_state_machine(admin_client, user):
    Subscription.objects.create(user=user)
    url = "/admin/billing/subscription/"
    pk = str(Subscription.objects.get(user=user).pk)

    granted = admin_client.post(url, {"action": "grant_pro", "_selected_action": [pk]}, follow=True)

    assert granted.status_code == 200
    user.refresh_from_db()
    sub = Subscription.objects.get(user=user)
    assert user.tier == "pro" and sub.status == "active" and sub.comped
    assert user.activity_entries.filter(entity_type="subscription", action="granted").exists()

    admin_client.post(url, {"action": "revoke_pro", "_selected_action": [pk]}, follow=True)

    user.refresh_from_db()
    assert user.tier == "free" and Subscription.objects.get(user=user).status == "expired"


def test_the_accounts_make_pro_action_creates_the_subscription(admin_client, user):
    admin_client.post("/admin/accounts/user/", {"action": "make_pro", "_selected_action": [str(user.pk)]})

    assert Subscription.objects.get(user=user).status == "active"


def test_view_only_staff_cannot_change_tiers(staff_client, user):
    sub = Subscription.objects.create(user=user)

    staff_client.post("/admin/billing/subscription/", {"action": "grant_pro", "_selected_action": [str(sub.pk)]})

    user.refresh_from_db()
    assert user.tier == "free"


def test_issue_token_pro_leaves_an_active_subscription_that_can_be_cancelled():
    out = io.StringIO()
    call_command("issue_token", "spa-pro@example.com", "--pro", stdout=out)
    token = json.loads(out.getvalue())["access_token"]
    user = User.objects.get(email="spa-pro@example.com")
    assert Subscription.objects.get(user=user).status == "active"

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post("/api/v1/subscription/cancel", {}, format="json")

    assert response.status_code == 200 and response.json()["data"]["status"] == "cancelled"


def test_webhook_events_and_payments_are_read_only(admin_client):
    WebhookEvent.objects.create(event_id="evt_1", type="payment_captured", status="processed", payload={})

    assert admin_client.get("/admin/billing/webhookevent/").status_code == 200
    assert admin_client.get("/admin/billing/webhookevent/add/").status_code == 403
    assert admin_client.post("/admin/billing/webhookevent/evt_1/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.get("/admin/billing/payment/add/").status_code == 403
    assert WebhookEvent.objects.count() == 1


def _some_data(count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    for i in range(count):
        user = baker.make("accounts.User", email=f"dash-{count}-{i}@example.com", tier="pro" if i % 2 else "free")
        Subscription.objects.create(user=user, status="active" if i % 2 else "expired", current_period_end=now)
        credits_services.credits_grant_kickstart(user=user)
        credits_services.credits_debit(user=user, amount=2, reason="chat")
        activity_record(user=user, entity_type="ai_chat", entity_id=user.pk, action="chat", source="ai")


def test_the_dashboard_shows_its_numbers_and_charts_to_staff(staff_client):
    _some_data(4)

    response = staff_client.get(DASHBOARD)

    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("chart-users-by-tier", "chart-subscriptions", "chart-credits", "chart-ai-calls"):
        assert f'id="{chart}"' in html
    assert "/static/billing/vendor/uplot/uPlot.iife.min.js" in html and "/static/billing/dashboard.js" in html
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)  # nothing loaded from another host (no CDN)
    data = json.loads(html.split('id="billing-dashboard-data" type="application/json">')[1].split("</script>")[0])
    assert data["users_by_tier"]["pro"] == 2 and data["users_by_tier"]["free"] >= 2
    assert data["subscriptions_by_status"]["active"] == 2 and data["subscriptions_by_status"]["expired"] == 2
    assert len(data["days"]) == 30 and data["days"][-1] == dt.datetime.now(dt.UTC).date().isoformat()
    assert data["credits_consumed"][-1] == 8 and sum(data["credits_consumed"]) == 8
    assert data["ai_calls"][-1] == 4
    assert "Subscriptions: 2 giving Pro" in html


def test_the_dashboard_costs_the_same_queries_with_more_data(staff_client):
    _some_data(2)
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(DASHBOARD).status_code == 200
    _some_data(12)
    with CaptureQueriesContext(connection) as large:
        assert staff_client.get(DASHBOARD).status_code == 200

    assert len(large.captured_queries) == len(small.captured_queries) <= 8


def test_the_vendored_chart_library_is_served_from_our_static_files():
    path = finders.find("billing/vendor/uplot/uPlot.iife.min.js")
    assert path is not None
    with open(path, encoding="utf-8") as f:
        assert "uPlot" in f.read(2000)
    assert finders.find("billing/dashboard.js") is not None


def test_the_dashboard_sends_anonymous_and_non_staff_visitors_to_login(client, make_user):
    assert client.get(DASHBOARD).status_code == 302
    client.force_login(make_user())
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_without_the_view_permission_get_a_403(client, make_user):
    client.force_login(make_user(is_staff=True))

    assert client.get(DASHBOARD).status_code == 403
