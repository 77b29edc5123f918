"""Checkout.com over HTTP (httpx): the one module that talks to the payment provider.

Two calls and one check:

* `hosted_payment_create` — `POST /hosted-payments`: a hosted payment page; the customer
  is sent to `_links.redirect.href`. The first Pro payment is a `Recurring` one, so its
  card can be charged again by us.
* `payment_create` — `POST /payments`: a merchant-initiated renewal
  (`merchant_initiated: true`, `payment_type: "Recurring"`, `previous_payment_id`), with a
  `Cko-Idempotency-Key` so a retried renewal is never charged twice.
* `signature_valid` — `Cko-Signature`: hex HMAC-SHA256 of the raw body with the webhook
  secret, compared in constant time.

Any transport error, timeout (CHECKOUT_TIMEOUT_SECONDS) or non-2xx answer raises
`PaymentServiceUnavailable` (503 in the contract's error shape); nothing here writes.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from perpetua.api.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)


class PaymentServiceUnavailable(ServiceUnavailable):
    code = "PAYMENT_SERVICE_UNAVAILABLE"
    default_message = "The payment service is unavailable; nothing was charged. Try again later."


@dataclass(frozen=True)
class HostedPayment:
    session_id: str
    checkout_url: str


@dataclass(frozen=True)
class PaymentResult:
    payment_id: str
    status: str  # Checkout.com's own: Authorized, Captured, Declined, Pending, ...
    approved: bool | None


def _client() -> httpx.Client:
    if not settings.CHECKOUT_SECRET_KEY:
        raise PaymentServiceUnavailable("Payments are not configured.")
    return httpx.Client(
        base_url=settings.CHECKOUT_BASE_URL.rstrip("/"),
        timeout=httpx.Timeout(settings.CHECKOUT_TIMEOUT_SECONDS),
        headers={"Authorization": f"Bearer {settings.CHECKOUT_SECRET_KEY}"},
        trust_env=False,
    )


def _post(path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        with _client() as client:
            response = client.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        logger.warning("Checkout.com %s failed: %s", path, type(exc).__name__)
        raise PaymentServiceUnavailable() from exc
    if not response.is_success:
        logger.warning("Checkout.com %s answered %s", path, response.status_code)
        raise PaymentServiceUnavailable()
    try:
        data = response.json()
    except ValueError as exc:
        raise PaymentServiceUnavailable() from exc
    if not isinstance(data, dict):
        raise PaymentServiceUnavailable()
    return data


def _common(*, reference: str, amount: int, metadata: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": amount,
        "currency": settings.BILLING_CURRENCY,
        "reference": reference,
        "metadata": metadata,
        "capture": True,
    }
    if settings.CHECKOUT_PROCESSING_CHANNEL_ID:
        body["processing_channel_id"] = settings.CHECKOUT_PROCESSING_CHANNEL_ID
    return body


def hosted_payment_create(
    *,
    reference: str,
    amount: int,
    description: str,
    recurring: bool,
    customer_email: str,
    customer_name: str,
    metadata: dict[str, str],
) -> HostedPayment:
    """A hosted payment page for `amount` (minor units); `recurring` marks the first payment
    of a subscription, whose card later renewals charge."""
    body = _common(reference=reference, amount=amount, metadata=metadata)
    body.update(
        {
            "payment_type": "Recurring" if recurring else "Regular",
            "description": description[:100],
            "customer": {"email": customer_email, "name": customer_name[:100]},
            "billing": {"address": {"country": "US"}},
            "products": [
                {
                    "name": description[:100],
                    "quantity": 1,
                    "price": amount,
                    **(
                        {"reference": settings.CHECKOUT_PRO_PRICE_ID}
                        if recurring and settings.CHECKOUT_PRO_PRICE_ID
                        else {}
                    ),
                }
            ],
            "success_url": settings.CHECKOUT_SUCCESS_URL,
            "cancel_url": settings.CHECKOUT_CANCEL_URL,
            "failure_url": settings.CHECKOUT_FAILURE_URL,
        }
    )
    data = _post("/hosted-payments", body)
    session_id = data.get("id")
    href = ((data.get("_links") or {}).get("redirect") or {}).get("href")
    if not isinstance(session_id, str) or not isinstance(href, str) or not href.startswith(("https://", "http://")):
        logger.warning("Checkout.com /hosted-payments answered without an id or redirect link")
        raise PaymentServiceUnavailable()
    return HostedPayment(session_id=session_id, checkout_url=href)


def payment_create(
    *,
    reference: str,
    amount: int,
    source_id: str,
    previous_payment_id: str,
    metadata: dict[str, str],
) -> PaymentResult:
    """A merchant-initiated renewal charging the card of `previous_payment_id`; the
    reference is also the idempotency key, so asking again never charges twice."""
    body = _common(reference=reference, amount=amount, metadata=metadata)
    body.update(
        {
            "source": {"type": "id", "id": source_id},
            "payment_type": "Recurring",
            "merchant_initiated": True,
            "previous_payment_id": previous_payment_id,
        }
    )
    data = _post("/payments", body, headers={"Cko-Idempotency-Key": reference})
    payment_id = data.get("id")
    if not isinstance(payment_id, str):
        raise PaymentServiceUnavailable()
    return PaymentResult(payment_id=payment_id, status=str(data.get("status", "")), approved=data.get("approved"))


def signature_valid(*, body: bytes, signature: str | None) -> bool:
    """`Cko-Signature` is the hex HMAC-SHA256 of the raw body with the webhook secret;
    compared in constant time. Without a configured secret nothing is valid."""
    secret = settings.CHECKOUT_WEBHOOK_SECRET
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Bytes on both sides: compare_digest refuses non-ASCII text, which a forged header may hold.
    return hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace"))
