"""The AI credits ledger (CONTRACT §10): append-only entries, and one balance row per user.

`CreditEntry` rows are never updated or deleted (a user's deletion cascades). The
per-type columns of `CreditAccount` are the running sums of that user's entries, kept
in the same transaction as each entry; the account row is also what every movement
locks, so two debits of one user take turns in PostgreSQL. CHECK constraints make an
overdraft impossible even for a buggy caller.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class CreditType(models.TextChoices):
    KICKSTART = "kickstart", "Kickstart"
    DAILY = "daily", "Daily"
    SUBSCRIPTION = "subscription", "Subscription"
    PURCHASED = "purchased", "Purchased"


# Debits take from these in this order (CONTRACT §10).
CONSUMPTION_ORDER: tuple[str, ...] = (
    CreditType.DAILY,
    CreditType.KICKSTART,
    CreditType.SUBSCRIPTION,
    CreditType.PURCHASED,
)


class Operation(models.TextChoices):
    GRANT = "grant", "Grant"
    CONSUME = "consume", "Consume"
    EXPIRE = "expire", "Expire"
    CARRYOVER = "carryover", "Carry-over"
    REFUND = "refund", "Refund"


# The sign of `amount` each operation must have.
CREDITING_OPERATIONS = (Operation.GRANT, Operation.REFUND, Operation.CARRYOVER)
DEBITING_OPERATIONS = (Operation.CONSUME, Operation.EXPIRE)


class CreditAccount(models.Model):
    """A user's balance by credit type: the sums of their ledger entries, and the row locked by every movement."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="credit_account"
    )
    daily = models.IntegerField(default=0)
    kickstart = models.IntegerField(default=0)
    subscription = models.IntegerField(default=0)
    purchased = models.IntegerField(default=0)
    # When the daily credits in `daily` stop counting (the UTC midnight after their grant).
    daily_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(daily__gte=0) & Q(kickstart__gte=0) & Q(subscription__gte=0) & Q(purchased__gte=0),
                name="credit_account_never_negative",
            ),
        ]
        indexes = [models.Index(fields=["daily_expires_at"], name="credit_account_daily_exp")]

    def __str__(self) -> str:
        return f"credits of {self.user_id}"

    @property
    def total(self) -> int:
        return self.daily + self.kickstart + self.subscription + self.purchased


class CreditEntry(models.Model):
    """One movement of one credit type (CONTRACT §10). `balance_after` is the user's total after it.

    `operation_ref` names what caused it (`kickstart`, `daily:2026-01-19`,
    `reservation:<id>`, `admin:<id>`, ...); one (user, operation, type, ref) happens at
    most once, which makes grants, expiries and refunds idempotent in the database.
    `reason` is what the credits were for (`chat`, `daily`, `admin`, ...), the source of
    the human description.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_entries")
    credit_type = models.CharField(max_length=12, choices=CreditType.choices)
    amount = models.IntegerField()
    balance_after = models.IntegerField()
    operation = models.CharField(max_length=10, choices=Operation.choices)
    operation_ref = models.CharField(max_length=100, null=True, blank=True)
    reason = models.CharField(max_length=32, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit entries"
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="credit_entry_balance_not_negative"),
            models.CheckConstraint(
                condition=(Q(operation__in=CREDITING_OPERATIONS) & Q(amount__gt=0))
                | (Q(operation__in=DEBITING_OPERATIONS) & Q(amount__lt=0)),
                name="credit_entry_sign_matches_operation",
            ),
            models.UniqueConstraint(
                fields=["user", "operation", "credit_type", "operation_ref"],
                condition=Q(operation_ref__isnull=False),
                name="credit_entry_once_per_ref",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="credit_entry_user_created"),
            models.Index(fields=["operation_ref"], name="credit_entry_ref"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.amount:+d} {self.credit_type} ({self.user_id})"


class ReservationState(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    COMMITTED = "committed", "Committed"
    REFUNDED = "refunded", "Refunded"


class CreditReservation(models.Model):
    """Credits debited before a provider call (CONTRACT §8): committed when it succeeds, refunded
    exactly once when it fails. `parts` is how the debit was split, `{credit_type: n}`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_reservations")
    amount = models.PositiveIntegerField()
    reason = models.CharField(max_length=32)
    parts = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=ReservationState.choices, default=ReservationState.RESERVED)
    # The expiry of the daily credits it took: a refund after that gives no daily credit back.
    daily_expires_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "created_at"], name="credit_reservation_state")]

    def __str__(self) -> str:
        return f"reservation {self.id} ({self.amount}, {self.state})"
