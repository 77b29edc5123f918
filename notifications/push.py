"""Web Push (CONTRACT §13): browser subscriptions and delivery from the job queue.

Rules enforced here:

* A subscription is keyed by its endpoint, globally: registering an endpoint another user
  holds moves it to the caller (same browser, new sign-in), so the previous user stops
  receiving pushes on a browser they left. Re-registering one's own endpoint refreshes its
  keys and `updated_at` (200); a new one is 201.
* At most PUSH_MAX_SUBSCRIPTIONS_PER_USER per user: registering one more drops the least
  recently registered (browsers leave stale subscriptions behind; the newest is the live one).
* Removing is idempotent and only ever touches the caller's own row (another user's
  endpoint, or an unknown one, is a silent no-op: the same 200 either way).
* Delivery never happens inside a request: `notification_create(push=True)` enqueues
  `push_send_notification` in the same transaction (only if the user has a subscription), which enqueues
  one `push_send` per subscription, so a retry re-sends to that one browser only.
  404/410 deletes the subscription; 429/5xx/network errors retry with the bounded backoff
  of perpetua.jobs; other refusals are logged and dropped; no VAPID key: logged, skipped.
* Only browser push services are contacted (notifications.endpoints, issue 9): an endpoint
  that is not https on PUSH_ALLOWED_HOSTS is refused on registration (400), and a stored one
  that fails the check at send time — the URL, or a host that resolves to a non-public
  address — is deleted and logged, never contacted.
  A notification deleted or read before its push goes out is not pushed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from notifications import providers
from notifications.models import Notification, PushSubscription
from perpetua.jobs import enqueue, job

logger = logging.getLogger(__name__)


# --- subscriptions --------------------------------------------------------------------------------


def push_subscription_register(*, user: Any, endpoint: str, p256dh: str, auth: str) -> tuple[PushSubscription, bool]:
    """Store the browser's subscription for `user`; returns (subscription, created).

    `created` is False only when the caller already held this endpoint. Inputs are
    validated by the serializer (an endpoint notifications.endpoints accepts, base64url keys
    of 65 / 16 bytes).
    """
    user_id = getattr(user, "pk", user)
    with transaction.atomic():
        existing = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
        if existing is None:
            try:
                with transaction.atomic():
                    subscription = PushSubscription.objects.create(
                        user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth
                    )
            except IntegrityError:  # registered concurrently: take the row under its lock
                existing = PushSubscription.objects.select_for_update().get(endpoint=endpoint)
            else:
                _drop_oldest(user_id=user_id)
                return subscription, True
        created = existing.user_id != user_id
        existing.user_id, existing.p256dh, existing.auth = user_id, p256dh, auth
        existing.save(update_fields=["user", "p256dh", "auth", "updated_at"])
        if created:
            _drop_oldest(user_id=user_id)
        return existing, created


def _drop_oldest(*, user_id: Any) -> None:
    keep = settings.PUSH_MAX_SUBSCRIPTIONS_PER_USER
    stale = list(
        PushSubscription.objects.filter(user_id=user_id)
        .order_by("-updated_at", "-id")
        .values_list("pk", flat=True)[keep:]
    )
    if stale:
        PushSubscription.objects.filter(pk__in=stale).delete()


def push_subscription_remove(*, user: Any, endpoint: str) -> bool:
    """Remove the caller's subscription for `endpoint`; idempotent. Returns whether a row went."""
    deleted, _ = PushSubscription.objects.filter(user_id=getattr(user, "pk", user), endpoint=endpoint).delete()
    return bool(deleted)


# --- delivery -------------------------------------------------------------------------------------


def push_enqueue_for_notification(notification: Notification) -> None:
    """Called by notification_create(push=True) inside its transaction: push after commit."""
    if PushSubscription.objects.filter(user_id=notification.user_id).exists():
        enqueue(push_send_notification, str(notification.pk))


def _payload(notification: Notification) -> dict[str, Any]:
    return {
        "title": notification.title,
        "body": notification.body,
        "action_url": notification.action_url,
        "notification_id": str(notification.pk),
        "type": notification.type,
    }


def _pushable(notification_id: str) -> Notification | None:
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or notification.read:
        logger.info("push for notification %s skipped: deleted or already read", notification_id)
        return None
    return notification


@job()
def push_send_notification(notification_id: str) -> int:
    """Fan out one notification: a `push_send` job per subscription of its user. Returns how many."""
    if not providers.push_configured():
        logger.warning("push for notification %s skipped: VAPID_PRIVATE_KEY is not configured", notification_id)
        return 0
    notification = _pushable(notification_id)
    if notification is None:
        return 0
    subscription_ids = list(PushSubscription.objects.filter(user_id=notification.user_id).values_list("pk", flat=True))
    for subscription_id in subscription_ids:
        enqueue(push_send, notification_id, str(subscription_id))
    return len(subscription_ids)


@job(retry_on=(providers.PushTemporaryFailure,))
def push_send(notification_id: str, subscription_id: str) -> str:
    """Deliver one notification to one browser. Retried (bounded) on temporary failures only."""
    subscription = PushSubscription.objects.filter(pk=subscription_id).first()
    if subscription is None:
        return "no-subscription"
    notification = _pushable(notification_id)
    if notification is None or notification.user_id != subscription.user_id:
        return "skipped"  # deleted/read, or the endpoint moved to another user meanwhile
    try:
        providers.push_send(
            endpoint=subscription.endpoint,
            p256dh=subscription.p256dh,
            auth=subscription.auth,
            payload=_payload(notification),
        )
    except providers.PushNotConfigured:
        logger.warning("push for notification %s skipped: VAPID_PRIVATE_KEY is not configured", notification_id)
        return "not-configured"
    except providers.PushEndpointRefused as exc:
        PushSubscription.objects.filter(pk=subscription.pk).delete()
        logger.warning("push subscription %s deleted, never contacted: %s", subscription.pk, exc)
        return "refused"
    except providers.PushGone as exc:
        PushSubscription.objects.filter(pk=subscription.pk).delete()
        logger.info("push subscription %s deleted: %s", subscription.pk, exc)
        return "gone"
    except providers.PushTemporaryFailure as exc:
        logger.info("push to subscription %s failed for now (%s); the job retries with backoff", subscription.pk, exc)
        raise
    except providers.PushRejected as exc:
        logger.warning("push to subscription %s dropped: %s", subscription.pk, exc)
        return "rejected"
    return "sent"
