"""Staff view of the credits ledger (CONTRACT §15): read-only rows; grants only through the service."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from credits import services
from credits.models import CreditAccount, CreditEntry, CreditReservation, CreditType


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is append-only: staff read it; movements go through `credits.services`."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """A UUID matches the row's or the user's id exactly; anything else is a text search."""
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(pk=value) | Q(user_id=value)), False


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "operation", "credit_type", "amount", "balance_after", "reason",
                    "operation_ref", "expires_at"]  # fmt: skip
    list_filter = ["operation", "credit_type", "reason", "created_at"]
    search_fields = ["user__email", "operation_ref"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


class GrantCreditsForm(forms.Form):
    credit_type = forms.ChoiceField(choices=CreditType.choices, initial=CreditType.PURCHASED)
    amount = forms.IntegerField(min_value=1, max_value=100_000)


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ["user", "daily", "daily_expires_at", "kickstart", "subscription", "purchased", "updated_at"]
    list_filter = ["updated_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    ordering = ["-updated_at"]
    actions = ["grant_credits"]

    @admin.action(description="Grant credits…", permissions=["grant"])
    def grant_credits(self, request: HttpRequest, queryset: QuerySet[CreditAccount]) -> HttpResponse | None:
        """Ask for a type and an amount, then grant them to each selected user through the service."""
        form = GrantCreditsForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            credit_type, amount = form.cleaned_data["credit_type"], form.cleaned_data["amount"]
            count = 0
            for account in queryset.select_related("user"):
                services.credits_admin_grant(user=account.user, credit_type=credit_type, amount=amount,
                                             staff=request.user)  # fmt: skip
                count += 1
            self.message_user(request, f"Granted {amount} {credit_type} credit(s) to {count} user(s).",
                              messages.SUCCESS)  # fmt: skip
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Grant credits",
            "form": form,
            "accounts": queryset.select_related("user"),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/credits/grant_credits.html", context)

    def has_grant_permission(self, request: HttpRequest) -> bool:
        """Granting credits creates money: superusers, or staff allowed to add ledger entries."""
        return request.user.is_superuser or request.user.has_perm("credits.add_creditentry")


@admin.register(CreditReservation)
class CreditReservationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "reason", "amount", "state", "settled_at"]
    list_filter = ["state", "reason", "created_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    ordering = ["-created_at"]
