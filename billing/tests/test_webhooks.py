"""`POST /webhooks/checkout` (CONTRACT §12): signature, at-most-once, order, unknown types."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rest_framework.test import APIClient

from billing.models import Payment, Subscription, WebhookEvent
from billing.services.renewals import subscriptions_check
from billing.tests.conftest import WEBHOOK_SECRET, post_event
from billing.tests.fake_checkout import event, sign
from credits.selectors import balance_for_user
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "signature",
    ["", "0" * 64, sign(b"something else", WEBHOOK_SECRET), "é" * 64, None],
    ids=["empty", "zeros", "other-body", "non-ascii", "wrong-secret"],
)
def test_a_bad_or_missing_signature_is_401_and_leaves_no_trace(client_for, user, checkout, signature):
    client_for(user).post("/api/v1/subscription/purchase-credits", {"amount": 10}, format="json")
    payment = Payment.objects.get()
    payload = event("payment_captured", reference=str(payment.id), payment_id="pay_x", amount=payment.amount)
    if signature is None:
        response = post_event(payload, secret="whsec_someone_else")
    else:
        response = post_event(payload, signature=signature)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert WebhookEvent.objects.count() == 0
    payment.refresh_from_db()
    assert payment.status == "pending" and balance_for_user(user=user).purchased == 0


def test_no_signature_header_at_all_is_401(checkout):
    body = json.dumps(event("payment_captured", reference="r", payment_id="pay_x")).encode()

    response = APIClient().post("/api/v1/webhooks/checkout", body, content_type="application/json")

    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_without_a_configured_secret_nothing_is_accepted(checkout, settings):
    settings.CHECKOUT_WEBHOOK_SECRET = ""
    payload = event("payment_captured", reference="r", payment_id="pay_x")

    response = post_event(payload, signature=sign(json.dumps(payload).encode(), ""))

    assert response.status_code == 401 and WebhookEvent.objects.count() == 0


def test_unknown_event_types_are_stored_and_acknowledged(checkout):
    payload = {"id": "evt_unknown_1", "type": "dispute_received", "created_on": "2026-01-01T00:00:00Z",
               "data": {"id": "dsp_1"}}  # fmt: skip

    response = post_event(payload)

    assert response.status_code == 200
    assert response.json()["data"] == {"received": True, "event_id": "evt_unknown_1", "duplicate": False}
    stored = WebhookEvent.objects.get()
    assert (stored.type, stored.status, stored.payload) == ("dispute_received", "ignored", payload)


def test_an_event_about_a_payment_we_never_asked_for_is_stored_and_ignored(checkout):
    response = post_event(event("payment_captured", reference="not-ours", payment_id="pay_elsewhere"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == "unknown payment"
    assert Subscription.objects.count() == 0


def test_a_signed_body_that_is_not_an_event_is_a_400(checkout):
    body = b'["not", "an", "event"]'

    response = APIClient().post(
        "/api/v1/webhooks/checkout",
        body,
        content_type="application/json",
        HTTP_CKO_SIGNATURE=sign(body, WEBHOOK_SECRET),
    )

    assert response.status_code == 400 and WebhookEvent.objects.count() == 0


def test_the_same_event_delivered_twice_changes_state_once(client_for, user, checkout):
    client_for(user).post("/api/v1/subscription/purchase-credits", {"amount": 30}, format="json")
    payment = Payment.objects.get()
    payload = event("payment_captured", reference=str(payment.id), payment_id="pay_1", amount=payment.amount)

    first, second = post_event(payload), post_event(payload)

    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["duplicate"] is False and second.json()["data"]["duplicate"] is True
    assert balance_for_user(user=user).purchased == 30
    assert WebhookEvent.objects.count() == 1
    assert Notification.objects.filter(user=user, type="subscription").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_concurrently_is_applied_once(make_user, client_for, checkout, concurrently):
    user = make_user()
    client_for(user).post("/api/v1/subscription/purchase-credits", {"amount": 40}, format="json")
    payment = Payment.objects.get()
    payload = event("payment_captured", reference=str(payment.id), payment_id="pay_race", amount=payment.amount)

    responses = concurrently(6, lambda i: post_event(payload))

    assert [r.status_code for r in responses] == [200] * 6
    assert sorted(r.json()["data"]["duplicate"] for r in responses) == [False] + [True] * 5
    assert balance_for_user(user=user).purchased == 40
    assert WebhookEvent.objects.count() == 1
    assert Notification.objects.filter(user=user).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_different_declines_of_one_renewal_racing_count_once(make_user, client_for, checkout, concurrently):
    """Two events (distinct ids) about the same declined renewal, at the same moment: the
    payment and subscription row locks make the second see it declined already."""
    user = make_user()
    client_for(user).post("/api/v1/subscription/checkout", {}, format="json")
    first = Payment.objects.get()
    post_event(event("payment_approved", reference=str(first.id), payment_id="pay_first", source_id="src_1"))
    post_event(event("payment_captured", reference=str(first.id), payment_id="pay_first",
                     created_on="2026-01-01T00:00:00Z"))  # fmt: skip
    end = Subscription.objects.get(user=user).current_period_end
    subscriptions_check(now=end + dt.timedelta(minutes=1))
    renewal = Payment.objects.get(kind="renewal")
    later = (end + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

    decline = event("payment_declined", reference=str(renewal.id), payment_id=renewal.payment_id, created_on=later)
    responses = concurrently(2, lambda i: post_event({**decline, "id": f"evt_decline_{i}"}))

    assert [r.status_code for r in responses] == [200, 200]
    sub = Subscription.objects.get(user=user)
    assert (sub.status, sub.failed_payment_count) == ("past_due", 1)
    assert WebhookEvent.objects.filter(type="payment_declined").count() == 2


def test_an_older_decline_arriving_after_a_capture_does_not_demote(user, subscribe, deliver, checkout):
    subscribe(user)
    sub = Subscription.objects.get(user=user)
    end = sub.current_period_end
    subscriptions_check(now=end + dt.timedelta(minutes=1))
    renewal = Payment.objects.get(kind="renewal")
    t_decline, t_capture = end + dt.timedelta(minutes=2), end + dt.timedelta(minutes=5)

    deliver("payment_captured", renewal, when=t_capture)  # delivered first, happened last
    deliver("payment_declined", renewal, when=t_decline, payment_id="pay_other_attempt")

    sub.refresh_from_db()
    assert sub.status == "active" and sub.failed_payment_count == 0
    assert sub.current_period_end == end + dt.timedelta(days=30)
    user.refresh_from_db()
    assert user.tier == "pro"


def test_a_decline_older_than_the_last_capture_is_ignored(user, subscribe, deliver, checkout):
    """A retried attempt was captured; the (older) decline of the attempt before it comes late."""
    first = subscribe(user)
    sub = Subscription.objects.get(user=user)
    end = sub.current_period_end
    subscriptions_check(now=end + dt.timedelta(minutes=1))
    renewal = Payment.objects.get(kind="renewal")
    deliver("payment_declined", renewal, when=end + dt.timedelta(minutes=3))
    subscriptions_check(now=end + dt.timedelta(hours=25))
    retry = Payment.objects.get(kind="renewal", attempt=2)
    deliver("payment_captured", retry, when=end + dt.timedelta(hours=26))
    sub.refresh_from_db()
    assert sub.status == "active"

    # A stray older decline for the first payment's card arrives now.
    deliver("payment_declined", first, when=end + dt.timedelta(minutes=4), payment_id="pay_stray")

    sub.refresh_from_db()
    assert sub.status == "active" and sub.failed_payment_count == 0
