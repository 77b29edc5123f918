"""The subscription endpoints (CONTRACT §12, SPA.md §14) against a fake Checkout.com."""

from __future__ import annotations

import re

import pytest

from billing.models import Payment, Subscription
from credits import services as credits_services
from perpetua.api.models import IdempotencyKey
from recovery.models import ActivityEntry

pytestmark = pytest.mark.django_db

Z_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SUBSCRIPTION_KEYS = {"tier", "status", "current_period_end", "cancel_at_period_end", "features"}


def test_a_free_user_has_no_status_and_no_period_end(api):
    response = api.get("/api/v1/subscription")

    assert response.status_code == 200
    data = response.json()["data"]
    assert SUBSCRIPTION_KEYS <= set(data)
    assert data["tier"] == "free" and data["status"] is None and data["current_period_end"] is None
    assert data["cancel_at_period_end"] is False
    assert data["features"] == {"max_subtasks": 4, "max_description_length": 1000, "voice_notes": False,
                                "monthly_credits": 0}  # fmt: skip


def test_checkout_asks_checkout_com_for_a_recurring_hosted_payment(api, user, checkout):
    response = api.post("/api/v1/subscription/checkout", {}, format="json")

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["session_id"].startswith("hpp_")
    assert data["checkout_url"] == f"https://pay.sandbox.checkout.com/page/{data['session_id']}"
    [sent] = checkout.received("/hosted-payments")
    payment = Payment.objects.get()
    assert sent.headers["authorization"] == "Bearer sk_sbox_test"
    assert sent.body["amount"] == 999 and sent.body["currency"] == "USD"
    assert sent.body["payment_type"] == "Recurring" and sent.body["capture"] is True
    assert sent.body["reference"] == str(payment.id)
    assert sent.body["metadata"] == {"user_id": str(user.pk), "kind": "subscription", "credits": "0"}
    assert sent.body["customer"]["email"] == user.email
    assert sent.body["success_url"].startswith("http") and sent.body["cancel_url"] and sent.body["failure_url"]
    assert (payment.user_id, payment.kind, payment.status, payment.session_id) == (
        user.pk, "subscription", "pending", data["session_id"],
    )  # fmt: skip
    user.refresh_from_db()
    assert user.tier == "free"  # Pro comes only with the confirming webhook


def test_upgrade_answers_the_subscription_fields_and_the_checkout(api, checkout):
    response = api.post("/api/v1/subscription/upgrade", {}, format="json")

    assert response.status_code == 201
    data = response.json()["data"]
    assert SUBSCRIPTION_KEYS | {"checkout_url", "session_id"} <= set(data)
    assert data["status"] is None and data["tier"] == "free"
    assert data["session_id"] == Payment.objects.get().session_id


@pytest.mark.parametrize("mode", ["500", "hang"])
@pytest.mark.parametrize("path", ["checkout", "upgrade", "purchase-credits"])
def test_a_provider_error_or_hang_is_a_503_and_stores_nothing(api, checkout, mode, path):
    checkout.mode = mode
    body = {"amount": 10} if path == "purchase-credits" else {}

    response = api.post(f"/api/v1/subscription/{path}", body, format="json",
                        HTTP_IDEMPOTENCY_KEY="7b0c1f3e-8f4a-4a8e-9d5c-3b2a1c0d9e8f")  # fmt: skip

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "PAYMENT_SERVICE_UNAVAILABLE" and error["request_id"]
    assert len(checkout.received("/hosted-payments")) == 1
    assert Payment.objects.count() == 0
    assert Subscription.objects.count() == 0
    assert ActivityEntry.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0  # the client may retry with the same key


def test_checkout_without_configured_keys_is_a_503(api, settings):
    settings.CHECKOUT_SECRET_KEY = ""

    response = api.post("/api/v1/subscription/checkout", {}, format="json")

    assert response.status_code == 503 and Payment.objects.count() == 0


def test_an_active_subscriber_cannot_start_a_second_checkout(client_for, user, subscribe, checkout):
    subscribe(user)

    response = client_for(user).post("/api/v1/subscription/checkout", {}, format="json")

    assert response.status_code == 409
    assert len(checkout.received("/hosted-payments")) == 1


def test_checkout_refuses_unknown_fields(api, checkout):
    response = api.post("/api/v1/subscription/checkout", {"plan": "gold"}, format="json")

    assert response.status_code == 400 and checkout.requests == []


def test_purchase_credits_answers_a_pending_checkout_and_grants_only_on_the_webhook(api, user, checkout, deliver):
    credits_services.credits_grant_kickstart(user=user)

    response = api.post("/api/v1/subscription/purchase-credits", {"amount": 50}, format="json")

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["status"] == "pending" and data["success"] is True
    assert data["credits_purchased"] == 50 and data["new_balance"] == 5
    assert data["checkout_url"].startswith("https://") and data["session_id"].startswith("hpp_")
    [sent] = checkout.received("/hosted-payments")
    assert sent.body["amount"] == 500 and sent.body["payment_type"] == "Regular"
    assert api.get("/api/v1/credits/balance").json()["data"]["purchased"] == 0

    payment = Payment.objects.get()
    deliver("payment_captured", payment, payment_id="pay_credits_1")
    deliver("payment_captured", payment, payment_id="pay_credits_1")  # another event of the same capture

    balance = api.get("/api/v1/credits/balance").json()["data"]
    assert balance["purchased"] == 50 and balance["total"] == 55
    payment.refresh_from_db()
    assert payment.status == "captured" and payment.payment_id == "pay_credits_1"


def test_purchases_are_capped_at_500_per_month(api, user, checkout):
    credits_services.credits_grant_purchase(user=user, amount=450, operation_ref="pay_earlier")

    too_many = api.post("/api/v1/subscription/purchase-credits", {"amount": 100}, format="json")
    allowed = api.post("/api/v1/subscription/purchase-credits", {"amount": 50}, format="json")

    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert allowed.status_code == 201
    assert len(checkout.received("/hosted-payments")) == 1  # the refused one never reached the provider


@pytest.mark.parametrize("amount", [0, 501, "10", 10.5, True, None])
def test_purchase_amount_must_be_a_whole_number_from_1_to_500(api, checkout, amount):
    response = api.post("/api/v1/subscription/purchase-credits", {"amount": amount}, format="json")

    assert response.status_code == 400
    assert checkout.requests == []


def test_cancel_keeps_pro_until_the_period_ends(client_for, user, subscribe):
    subscribe(user)
    period_end = Subscription.objects.get(user=user).current_period_end

    response = client_for(user).post("/api/v1/subscription/cancel", {}, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "cancelled" and data["cancel_at_period_end"] is True
    assert Z_DATETIME.match(data["access_until"])
    assert data["access_until"] == period_end.strftime("%Y-%m-%dT%H:%M:%S.") + f"{period_end.microsecond // 1000:03d}Z"
    assert data["tier"] == "pro"
    user.refresh_from_db()
    assert user.tier == "pro"
    again = client_for(user).post("/api/v1/subscription/cancel", {}, format="json")
    assert again.status_code == 200 and again.json()["data"]["access_until"] == data["access_until"]


def test_cancel_without_a_subscription_is_a_409(api):
    response = api.post("/api/v1/subscription/cancel", {}, format="json")

    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"


def test_a_subscriber_sees_an_active_subscription_with_pro_features(client_for, user, subscribe):
    subscribe(user)

    data = client_for(user).get("/api/v1/subscription").json()["data"]

    assert data["tier"] == "pro" and data["status"] == "active"
    assert Z_DATETIME.match(data["current_period_end"])
    assert data["features"] == {"max_subtasks": 10, "max_description_length": 2000, "voice_notes": True,
                                "monthly_credits": 100}  # fmt: skip


def test_subscription_endpoints_need_a_user(anon_client):
    assert anon_client.get("/api/v1/subscription").status_code == 401
    assert anon_client.post("/api/v1/subscription/checkout", {}, format="json").status_code == 401


def test_a_new_subscriber_gets_daily_and_subscription_credits(client_for, user, subscribe):
    subscribe(user)

    balance = client_for(user).get("/api/v1/credits/balance").json()["data"]

    assert balance["subscription"] == 100 and balance["daily"] == 10
    assert credits_services.credits_grant_subscription(user=user, period_ref=str(Payment.objects.get().id)) is None
