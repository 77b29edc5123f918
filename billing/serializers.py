"""Shapes of the subscription endpoints (CONTRACT §12, SPA.md §14)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from accounts.models import Tier
from billing.models import SubscriptionStatus
from billing.selectors import SubscriptionView
from perpetua.api.serializers import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    IntegerField,
    StrictSerializerMixin,
    URLField,
)


class FeaturesSerializer(serializers.Serializer):
    max_subtasks = IntegerField(min_value=1)
    max_description_length = IntegerField(min_value=1)
    voice_notes = BooleanField()
    monthly_credits = IntegerField(min_value=0)


class SubscriptionSerializer(serializers.Serializer):
    """`status` and `current_period_end` are null for a user who never subscribed."""

    tier = ChoiceField(choices=Tier.choices)
    status = ChoiceField(choices=SubscriptionStatus.choices, allow_null=True)
    current_period_start = DateTimeField(allow_null=True)
    current_period_end = DateTimeField(allow_null=True)
    cancel_at_period_end = BooleanField()
    failed_payment_count = IntegerField(min_value=0)
    grace_until = DateTimeField(allow_null=True, help_text="When Pro ends while in `grace`.")
    features = FeaturesSerializer()

    def to_representation(self, view: SubscriptionView) -> dict[str, Any]:
        data = super().to_representation(view)
        data["features"] = dict(view.features)
        return data


class CheckoutSerializer(serializers.Serializer):
    checkout_url = URLField(help_text="Checkout.com's hosted payment page; send the customer there.")
    session_id = CharField(help_text="The hosted payment session (`hpp_...`).")


class UpgradeSerializer(SubscriptionSerializer):
    """`POST /subscription/upgrade`: the subscription as it is now (Pro comes with the
    confirming webhook) plus the checkout."""

    checkout_url = URLField()
    session_id = CharField()


class CancelSerializer(SubscriptionSerializer):
    access_until = DateTimeField(help_text="Pro stays until then.")


class PurchaseCreditsInputSerializer(StrictSerializerMixin, serializers.Serializer):
    amount = IntegerField(min_value=1, max_value=settings.MAX_PURCHASED_CREDITS_PER_MONTH)

    def validate_amount(self, value: Any) -> int:
        raw = self.initial_data.get("amount")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise serializers.ValidationError("A whole number of credits is required.")
        return value


class PurchaseCreditsSerializer(CheckoutSerializer):
    status = ChoiceField(choices=["pending"])
    success = BooleanField()
    credits_purchased = IntegerField(min_value=1)
    new_balance = IntegerField(
        min_value=0, help_text="The current total: the credits arrive with the confirming webhook."
    )


class WebhookAckSerializer(serializers.Serializer):
    received = BooleanField()
    event_id = CharField()
    duplicate = BooleanField(help_text="The event was delivered before; nothing was done again.")


class SubscriptionEnvelopeSerializer(serializers.Serializer):
    data = SubscriptionSerializer()


class CheckoutEnvelopeSerializer(serializers.Serializer):
    data = CheckoutSerializer()


class UpgradeEnvelopeSerializer(serializers.Serializer):
    data = UpgradeSerializer()


class CancelEnvelopeSerializer(serializers.Serializer):
    data = CancelSerializer()


class PurchaseCreditsEnvelopeSerializer(serializers.Serializer):
    data = PurchaseCreditsSerializer()


class WebhookAckEnvelopeSerializer(serializers.Serializer):
    data = WebhookAckSerializer()
