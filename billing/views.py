"""HTTP surface of billing (CONTRACT §12): the subscription, checkouts, cancel, credit packs,
and the Checkout.com webhook. Each view calls one service or selector."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from billing import selectors
from billing.serializers import (
    CancelEnvelopeSerializer,
    CheckoutEnvelopeSerializer,
    PurchaseCreditsEnvelopeSerializer,
    PurchaseCreditsInputSerializer,
    SubscriptionEnvelopeSerializer,
    SubscriptionSerializer,
    UpgradeEnvelopeSerializer,
    WebhookAckEnvelopeSerializer,
)
from billing.services import checkout as checkout_services
from billing.services import webhooks as webhook_services
from credits import selectors as credits_selectors
from perpetua.api.responses import envelope
from perpetua.api.serializers import StrictSerializerMixin, format_datetime
from perpetua.api.views import ApiView

_subscription = SubscriptionSerializer()
_UNAVAILABLE = OpenApiResponse(
    description="PAYMENT_SERVICE_UNAVAILABLE: Checkout.com failed or timed out; nothing stored."
)


class NoBodySerializer(StrictSerializerMixin, serializers.Serializer):
    """These calls take no fields (the SPA sends `{}`); any field is a 400."""


def _no_body(request: Request) -> None:
    NoBodySerializer(data=request.data if isinstance(request.data, dict) else {}).is_valid(raise_exception=True)


def _subscription_data(request: Request) -> dict:
    return _subscription.to_representation(selectors.subscription_for_user(user=request.user))


class SubscriptionView(ApiView):
    @extend_schema(operation_id="subscription_get", summary="The caller's subscription and tier features",
                   responses=SubscriptionEnvelopeSerializer)  # fmt: skip
    def get(self, request: Request) -> Response:
        return envelope(_subscription_data(request))


class SubscriptionCheckoutView(ApiView):
    @extend_schema(
        operation_id="subscription_checkout", summary="Start a Pro checkout (Checkout.com hosted payment page)",
        request=None, responses={201: CheckoutEnvelopeSerializer, 503: _UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        _no_body(request)
        payment = checkout_services.subscription_checkout(user=request.user)
        return envelope({"checkout_url": payment.checkout_url, "session_id": payment.session_id}, status=201)


class SubscriptionUpgradeView(ApiView):
    @extend_schema(
        operation_id="subscription_upgrade",
        summary="The SPA's name for checkout: the subscription as it is plus the checkout",
        request=None, responses={201: UpgradeEnvelopeSerializer, 503: _UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        _no_body(request)
        payment = checkout_services.subscription_checkout(user=request.user)
        data = {**_subscription_data(request), "checkout_url": payment.checkout_url, "session_id": payment.session_id}
        return envelope(data, status=201)


class SubscriptionCancelView(ApiView):
    @extend_schema(operation_id="subscription_cancel", summary="Cancel: Pro stays until the period ends",
                   request=None, responses=CancelEnvelopeSerializer)  # fmt: skip
    def post(self, request: Request) -> Response:
        _no_body(request)
        transition = checkout_services.subscription_cancel(user=request.user)
        request.user.refresh_from_db(fields=["tier"])
        data = _subscription_data(request)
        data["access_until"] = format_datetime(selectors.access_until(subscription=transition.subscription))
        return envelope(data)


class PurchaseCreditsView(ApiView):
    @extend_schema(
        operation_id="subscription_purchase_credits", summary="Checkout for a credit pack (≤ 500 per month)",
        request=PurchaseCreditsInputSerializer, responses={201: PurchaseCreditsEnvelopeSerializer, 503: _UNAVAILABLE},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = PurchaseCreditsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        amount = serializer.validated_data["amount"]
        payment = checkout_services.credits_purchase_checkout(user=request.user, amount=amount)
        return envelope(
            {
                "checkout_url": payment.checkout_url,
                "session_id": payment.session_id,
                "status": "pending",
                "success": True,
                "credits_purchased": amount,
                "new_balance": credits_selectors.credits_remaining(user=request.user),
            },
            status=201,
        )


class CheckoutWebhookView(ApiView):
    """Checkout.com's event deliveries: authenticated by `Cko-Signature`, not by a user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="webhooks_checkout", summary="Checkout.com webhook (Cko-Signature: HMAC-SHA256 of the body)",
        request={"application/json": {"type": "object"}},
        responses={200: WebhookAckEnvelopeSerializer, 401: OpenApiResponse(description="Bad or missing signature.")},
        auth=[],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        result = webhook_services.webhook_receive(body=request.body, signature=request.headers.get("Cko-Signature"))
        return envelope({"received": True, "event_id": result.event_id, "duplicate": result.duplicate})
