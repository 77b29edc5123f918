"""Output shapes of the credits endpoints (CONTRACT §10, SPA.md §11)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Tier
from credits.models import CreditEntry, CreditType, Operation
from credits.selectors import Balance
from perpetua.api.serializers import CharField, ChoiceField, DateTimeField, IntegerField, UUIDField, format_datetime

# What credits were for (`CreditEntry.reason`), as people read it.
REASON_LABELS = {
    "chat": "AI chat",
    "subtasks": "AI subtask generation",
    "note_convert": "AI note conversion",
    "transcribe": "Voice transcription",
    "kickstart": "Kickstart credits",
    "daily": "Daily credits",
    "subscription": "Subscription credits",
    "purchase": "Purchased credits",
    "admin": "Credits granted by support",
}
HISTORY_TYPES = ("grant", "deduct")
HISTORY_CATEGORIES = ("daily", "subscription", "purchase", "ai", "kickstart")


def entry_description(entry: CreditEntry) -> str:
    """A human description of a ledger entry ("AI chat", "Daily credits", "Expired daily credits", ...)."""
    label = REASON_LABELS.get(entry.reason) or entry.reason.replace("_", " ").capitalize() or "Credits"
    if entry.operation == Operation.EXPIRE:
        return f"Expired {entry.get_credit_type_display().lower()} credits"
    if entry.operation == Operation.REFUND:
        return f"Refund: {label}"
    if entry.operation == Operation.CARRYOVER:
        return "Carried-over subscription credits"
    return label


def entry_category(entry: CreditEntry) -> str:
    """`ai` for a consume, else the credit type (`purchased` → `purchase`), as the SPA names them."""
    if entry.operation == Operation.CONSUME:
        return "ai"
    return "purchase" if entry.credit_type == CreditType.PURCHASED else entry.credit_type


class CreditHistoryEntrySerializer(serializers.Serializer):
    """A ledger entry (CONTRACT §10) plus the SPA's `user_id`, `type`, `category`, `description`."""

    id = UUIDField()
    user_id = UUIDField()
    credit_type = ChoiceField(choices=CreditType.choices)
    amount = IntegerField(help_text="Positive for a grant or refund, negative for a debit or expiry.")
    balance_after = IntegerField(min_value=0, help_text="The user's total after this entry.")
    operation = ChoiceField(choices=Operation.choices)
    operation_ref = CharField(allow_null=True)
    expires_at = DateTimeField(allow_null=True)
    type = ChoiceField(choices=HISTORY_TYPES, help_text="`grant` for amount > 0, else `deduct`.")
    category = ChoiceField(
        choices=HISTORY_CATEGORIES, help_text="`ai` for a consume, else the credit type (`purchased` → `purchase`)."
    )
    description = CharField()
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, entry: CreditEntry) -> dict[str, Any]:
        return {
            "id": str(entry.id),
            "user_id": str(entry.user_id),
            "credit_type": entry.credit_type,
            "amount": entry.amount,
            "balance_after": entry.balance_after,
            "operation": entry.operation,
            "operation_ref": entry.operation_ref,
            "expires_at": format_datetime(entry.expires_at),
            "type": "grant" if entry.amount > 0 else "deduct",
            "category": entry_category(entry),
            "description": entry_description(entry),
            "created_at": format_datetime(entry.created_at),
            "updated_at": format_datetime(entry.updated_at),
        }


class BalanceSerializer(serializers.Serializer):
    """`/ai/credits` `balance` (CONTRACT §10)."""

    daily_free = IntegerField(min_value=0, help_text="Daily credits left today (expire at 00:00 UTC).")
    kickstart = IntegerField(min_value=0)
    subscription = IntegerField(min_value=0)
    purchased = IntegerField(min_value=0)
    total = IntegerField(min_value=0)

    def to_representation(self, balance: Balance) -> dict[str, Any]:
        return {
            "daily_free": balance.daily,
            "kickstart": balance.kickstart,
            "subscription": balance.subscription,
            "purchased": balance.purchased,
            "total": balance.total,
        }


class CreditBalanceSerializer(BalanceSerializer):
    """`GET /credits/balance`: the same object plus `daily` (= `daily_free`, the SPA's name)."""

    daily = IntegerField(min_value=0, help_text="= `daily_free`.")

    def to_representation(self, balance: Balance) -> dict[str, Any]:
        return {**super().to_representation(balance), "daily": balance.daily}


class AICreditsSerializer(serializers.Serializer):
    balance = BalanceSerializer()
    daily_reset_at = DateTimeField(help_text="The next 00:00 UTC, when daily credits expire and are granted again.")
    tier = ChoiceField(choices=Tier.choices)


class CreditBalanceEnvelopeSerializer(serializers.Serializer):
    data = CreditBalanceSerializer()


class AICreditsEnvelopeSerializer(serializers.Serializer):
    data = AICreditsSerializer()


class AdminGrantSerializer(serializers.Serializer):
    """The admin's "grant credits" form."""

    credit_type = ChoiceField(choices=CreditType.choices)
    amount = IntegerField(min_value=1, max_value=100_000)
