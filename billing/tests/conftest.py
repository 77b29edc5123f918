"""Billing fixtures: a fake Checkout.com on 127.0.0.1, signed webhook deliveries, and a
subscriber made the way a real one is (checkout, then the provider's events)."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest
from rest_framework.test import APIClient

from billing.models import Payment
from billing.tests.fake_checkout import FakeCheckout, event, sign

WEBHOOK_SECRET = "whsec_test_0123456789"


@pytest.fixture
def checkout(settings):
    fake = FakeCheckout().start()
    settings.CHECKOUT_BASE_URL = fake.url
    settings.CHECKOUT_SECRET_KEY = "sk_sbox_test"
    settings.CHECKOUT_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.CHECKOUT_TIMEOUT_SECONDS = 0.5
    yield fake
    fake.stop()


def post_event(payload: dict, *, secret: str = WEBHOOK_SECRET, signature: str | None = None, client=None):
    body = json.dumps(payload).encode()
    headers = {"HTTP_CKO_SIGNATURE": signature if signature is not None else sign(body, secret)}
    return (client or APIClient()).post("/api/v1/webhooks/checkout", body, content_type="application/json", **headers)


@pytest.fixture
def deliver(checkout):
    """`deliver(type, payment, ...)`: Checkout.com posts one signed event about `payment`."""

    def _deliver(event_type: str, payment: Payment, *, when: dt.datetime | None = None, event_id=None,
                 payment_id: str | None = None, source_id: str | None = None):  # fmt: skip
        payment.refresh_from_db()
        payload = event(
            event_type,
            reference=str(payment.id),
            payment_id=payment_id or payment.payment_id or f"pay_{secrets.token_hex(13)}",
            amount=payment.amount,
            created_on=(when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            source_id=source_id,
            event_id=event_id,
        )
        response = post_event(payload)
        assert response.status_code == 200, response.content
        return response

    return _deliver


@pytest.fixture
def subscribe(client_for, deliver):
    """Make `user` a paying subscriber: a checkout, then `payment_approved` (the card) and
    `payment_captured` from Checkout.com. Returns the captured Payment."""

    def _subscribe(user) -> Payment:
        response = client_for(user).post("/api/v1/subscription/checkout", {}, format="json")
        assert response.status_code == 201, response.content
        payment = Payment.objects.get(session_id=response.json()["data"]["session_id"])
        pay_id = f"pay_{secrets.token_hex(13)}"
        deliver("payment_approved", payment, payment_id=pay_id, source_id="src_card_4242")
        deliver("payment_captured", payment, payment_id=pay_id)
        payment.refresh_from_db()
        return payment

    return _subscribe
