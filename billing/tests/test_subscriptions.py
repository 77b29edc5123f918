"""The state machine of CONTRACT §12 and `check_subscriptions`, end to end: checkouts and
renewals through the fake Checkout.com, outcomes through signed webhooks."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from billing.models import Payment, Subscription, WebhookEvent
from billing.services.renewals import subscriptions_check
from billing.services.subscriptions import subscription_grant_pro, subscription_revoke_pro
from credits import services as credits_services
from credits.models import CreditEntry
from credits.selectors import balance_for_user
from notifications.models import Notification
from recovery.models import ActivityEntry

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


def state(user) -> tuple[str | None, int, str]:
    sub = Subscription.objects.get(user=user)
    user.refresh_from_db()
    return sub.status, sub.failed_payment_count, user.tier


def renew_and_decline(user, deliver, *, now):
    subscriptions_check(now=now)
    renewal = Payment.objects.filter(user=user, kind="renewal").order_by("-attempt").first()
    deliver("payment_declined", renewal, when=now + dt.timedelta(minutes=1))
    return renewal


def test_capture_activates_pro_with_a_period_credits_and_a_notification(user, subscribe):
    payment = subscribe(user)

    sub = Subscription.objects.get(user=user)
    assert state(user) == ("active", 0, "pro")
    assert sub.current_period_end - sub.current_period_start == dt.timedelta(days=30)
    assert sub.last_payment_id == payment.payment_id
    assert balance_for_user(user=user).subscription == 100
    assert Notification.objects.get(user=user, type="subscription").title == "Welcome to Perpetua Pro"
    assert ActivityEntry.objects.filter(user=user, entity_type="subscription", action="activated").count() == 1


def test_the_renewal_is_a_merchant_initiated_recurring_payment(user, subscribe, checkout):
    first = subscribe(user)
    end = Subscription.objects.get(user=user).current_period_end

    subscriptions_check(now=end + HOUR)

    [sent] = checkout.received("/payments")
    renewal = Payment.objects.get(kind="renewal")
    assert sent.body["merchant_initiated"] is True and sent.body["payment_type"] == "Recurring"
    assert sent.body["previous_payment_id"] == first.payment_id
    assert sent.body["source"] == {"type": "id", "id": "src_card_4242"}
    assert sent.body["amount"] == 999 and sent.body["reference"] == str(renewal.id)
    assert sent.headers["cko-idempotency-key"] == str(renewal.id)
    assert renewal.payment_id.startswith("pay_") and renewal.status == "pending"
    assert renewal.renews_period_end == end


def test_renewal_grants_100_and_caps_the_carry_over_at_50(user, subscribe, deliver):
    subscribe(user)
    credits_services.credits_debit(user=user, amount=30, reason="chat")  # 10 daily + 20 subscription
    assert balance_for_user(user=user).subscription == 80
    sub = Subscription.objects.get(user=user)
    end = sub.current_period_end

    subscriptions_check(now=end + HOUR)
    deliver("payment_captured", Payment.objects.get(kind="renewal"), when=end + 2 * HOUR)

    assert balance_for_user(user=user).subscription == 150  # 80 → 50 kept, + 100
    expired = CreditEntry.objects.get(user=user, operation="expire", credit_type="subscription")
    assert expired.amount == -30
    sub.refresh_from_db()
    assert sub.status == "active"
    assert sub.current_period_start == end and sub.current_period_end == end + dt.timedelta(days=30)


def test_three_declines_lead_to_grace_then_the_command_expires_to_free(user, subscribe, deliver, checkout):
    subscribe(user)
    end = Subscription.objects.get(user=user).current_period_end

    renew_and_decline(user, deliver, now=end + HOUR)
    assert state(user) == ("past_due", 1, "pro")
    subscriptions_check(now=end + 2 * HOUR)  # too early for a retry
    assert len(checkout.received("/payments")) == 1

    renew_and_decline(user, deliver, now=end + 26 * HOUR)
    assert state(user) == ("past_due", 2, "pro")
    renew_and_decline(user, deliver, now=end + 51 * HOUR)
    sub = Subscription.objects.get(user=user)
    assert state(user) == ("grace", 3, "pro")
    assert sub.grace_until is not None
    subscriptions_check(now=end + 60 * HOUR)  # no more attempts in grace
    assert len(checkout.received("/payments")) == 3
    assert state(user) == ("grace", 3, "pro")

    subscriptions_check(now=sub.grace_until + HOUR)

    assert state(user) == ("expired", 3, "free")
    titles = list(Notification.objects.filter(user=user).order_by("created_at").values_list("title", flat=True))
    assert titles == ["Welcome to Perpetua Pro", "Payment failed", "Payment failed", "Pro ends soon", "Pro has ended"]


@pytest.mark.parametrize("failures", [1, 3])
def test_a_payment_while_past_due_or_in_grace_returns_to_active(client_for, user, subscribe, deliver, failures):
    subscribe(user)
    end = Subscription.objects.get(user=user).current_period_end
    for attempt in range(failures):
        renew_and_decline(user, deliver, now=end + (1 + 25 * attempt) * HOUR)
    assert state(user)[0] == ("past_due" if failures == 1 else "grace")

    if failures == 1:  # the next renewal attempt goes through
        subscriptions_check(now=end + 27 * HOUR)
        deliver("payment_captured", Payment.objects.get(kind="renewal", attempt=2), when=end + 28 * HOUR)
    else:  # in grace there are no more attempts: the user pays on a new checkout
        response = client_for(user).post("/api/v1/subscription/checkout", {}, format="json")
        assert response.status_code == 201
        deliver("payment_captured", Payment.objects.get(session_id=response.json()["data"]["session_id"]))

    sub = Subscription.objects.get(user=user)
    assert state(user) == ("active", 0, "pro")
    assert sub.grace_until is None and sub.current_period_end > end
    assert Notification.objects.filter(user=user, title="Payment received").count() == 1


def test_cancelled_keeps_pro_until_the_period_end_then_the_command_expires_it(client_for, user, subscribe, checkout):
    subscribe(user)
    end = Subscription.objects.get(user=user).current_period_end
    client_for(user).post("/api/v1/subscription/cancel", {}, format="json")

    subscriptions_check(now=end - HOUR)
    assert state(user) == ("cancelled", 0, "pro")

    subscriptions_check(now=end + HOUR)

    assert state(user) == ("expired", 0, "free")
    assert checkout.received("/payments") == []  # a cancelled subscription is never renewed


def test_paying_again_after_expiry_reactivates(client_for, user, subscribe, deliver):
    subscribe(user)
    Subscription.objects.filter(user=user).update(status="expired")

    payment = subscribe(user)

    assert state(user) == ("active", 0, "pro")
    assert Subscription.objects.get(user=user).last_payment_id == payment.payment_id


def test_a_declined_first_checkout_changes_nothing(client_for, user, checkout, deliver):
    client_for(user).post("/api/v1/subscription/checkout", {}, format="json")

    deliver("payment_declined", Payment.objects.get())

    assert Subscription.objects.count() == 0 or Subscription.objects.get(user=user).status is None
    user.refresh_from_db()
    assert user.tier == "free"


def test_check_subscriptions_twice_in_a_row_is_the_same_as_once(user, make_user, subscribe, client_for, checkout):
    subscribe(user)
    cancelling = make_user()
    subscribe(cancelling)
    client_for(cancelling).post("/api/v1/subscription/cancel", {}, format="json")
    end = Subscription.objects.get(user=user).current_period_end + HOUR

    first = io.StringIO()
    call_command("check_subscriptions", stdout=first)
    subscriptions_check(now=end)
    snapshot = (
        list(
            Subscription.objects.order_by("user_id").values_list("status", "failed_payment_count", "current_period_end")
        ),
        list(Payment.objects.order_by("id").values_list("id", "status", "payment_id")),
        Notification.objects.count(),
        CreditEntry.objects.count(),
    )
    subscriptions_check(now=end)
    subscriptions_check(now=end + dt.timedelta(minutes=5))

    assert snapshot == (
        list(
            Subscription.objects.order_by("user_id").values_list("status", "failed_payment_count", "current_period_end")
        ),
        list(Payment.objects.order_by("id").values_list("id", "status", "payment_id")),
        Notification.objects.count(),
        CreditEntry.objects.count(),
    )
    assert len(checkout.received("/payments")) == 1
    assert state(cancelling) == ("expired", 0, "free")
    assert "renewals requested 0" in first.getvalue()


def test_a_renewal_the_provider_could_not_take_is_retried_with_the_same_key(user, subscribe, checkout):
    subscribe(user)
    end = Subscription.objects.get(user=user).current_period_end
    checkout.mode = "500"

    subscriptions_check(now=end + HOUR)

    renewal = Payment.objects.get(kind="renewal")
    assert renewal.status == "failed" and renewal.payment_id is None
    assert state(user) == ("active", 0, "pro")  # the provider's outage is not the customer's decline
    checkout.mode = "ok"

    subscriptions_check(now=end + 2 * HOUR)

    keys = [r.headers["cko-idempotency-key"] for r in checkout.received("/payments")]
    assert keys == [str(renewal.id), str(renewal.id)]
    renewal.refresh_from_db()
    assert renewal.status == "pending" and renewal.payment_id.startswith("pay_")
    assert Payment.objects.filter(kind="renewal").count() == 1


def test_a_subscription_without_a_card_on_file_counts_failed_attempts(user, subscribe, checkout):
    subscribe(user)
    Payment.objects.filter(user=user).update(source_id="")
    end = Subscription.objects.get(user=user).current_period_end

    subscriptions_check(now=end + HOUR)

    assert state(user) == ("past_due", 1, "pro")
    assert checkout.received("/payments") == []


def test_staff_grant_is_an_active_subscription_that_rolls_on_without_payment(user, checkout):
    subscription_grant_pro(user=user)

    sub = Subscription.objects.get(user=user)
    assert state(user) == ("active", 0, "pro") and sub.comped
    assert balance_for_user(user=user).daily == 10 and balance_for_user(user=user).subscription == 0

    subscriptions_check(now=sub.current_period_end + HOUR)
    subscriptions_check(now=sub.current_period_end + HOUR)

    later = Subscription.objects.get(user=user)
    assert later.status == "active" and later.current_period_end == sub.current_period_end + dt.timedelta(days=30)
    assert checkout.received("/payments") == []

    subscription_revoke_pro(user=user)
    assert state(user) == ("expired", 0, "free")


def test_staff_actions_on_a_legacy_pro_user_without_a_row(pro_user):
    subscription_revoke_pro(user=pro_user)
    pro_user.refresh_from_db()
    assert pro_user.tier == "free"


def test_purge_expired_drops_old_webhook_events_and_is_idempotent(checkout):
    from billing.tests.conftest import post_event
    from billing.tests.fake_checkout import event

    post_event(event("payment_pending", reference="x", payment_id="pay_old", event_id="evt_old"))
    post_event(event("payment_pending", reference="x", payment_id="pay_new", event_id="evt_new"))
    WebhookEvent.objects.filter(event_id="evt_old").update(received_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))

    out = io.StringIO()
    call_command("purge_expired", stdout=out)
    call_command("purge_expired", stdout=io.StringIO())

    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["evt_new"]
    assert "1 webhook events" in out.getvalue()
