"""Staff view of billing (CONTRACT §15): subscriptions (Pro granted or revoked only through
the state machine), payments and Checkout.com events read-only, and the staff dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from billing import selectors
from billing.models import Payment, Subscription, WebhookEvent
from billing.services.subscriptions import subscription_grant_pro, subscription_revoke_pro


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the services only; staff read them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["user", "status", "current_period_end", "cancel_at_period_end", "failed_payment_count",
                    "grace_until", "comped", "updated_at"]  # fmt: skip
    list_filter = ["status", "comped", "cancel_at_period_end", "current_period_end"]
    search_fields = ["user__email", "last_payment_id"]
    list_select_related = ["user"]
    ordering = ["-updated_at"]
    actions = ["grant_pro", "revoke_pro"]
    change_list_template = "admin/billing/subscription/change_list.html"

    @admin.action(description="Grant Pro", permissions=["manage"])
    def grant_pro(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        count = 0
        for subscription in queryset.select_related("user"):
            subscription_grant_pro(user=subscription.user, granted_by=request.user)
            count += 1
        self.message_user(request, f"{count} user(s) made Pro.", messages.SUCCESS)

    @admin.action(description="Revoke Pro (back to free)", permissions=["manage"])
    def revoke_pro(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        count = 0
        for subscription in queryset.select_related("user"):
            subscription_revoke_pro(user=subscription.user, revoked_by=request.user)
            count += 1
        self.message_user(request, f"{count} user(s) returned to free.", messages.SUCCESS)

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Changing a tier gives or takes paid features: superusers, or staff allowed to change subscriptions."""
        return request.user.is_superuser or request.user.has_perm("billing.change_subscription")

    def get_urls(self) -> list[URLPattern]:
        dashboard = path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="billing_dashboard")
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Users by tier, subscriptions, credits consumed and AI calls per day (30 days), as charts.
        Anonymous and non-staff visitors are sent to the login page by `admin_view`; staff who may
        not view subscriptions get a 403."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        numbers = selectors.dashboard_numbers()
        chart_data = {
            "days": [day.isoformat() for day in numbers.days],
            "credits_consumed": numbers.credits_consumed,
            "ai_calls": numbers.ai_calls,
            "users_by_tier": numbers.users_by_tier,
            "subscriptions_by_status": numbers.subscriptions_by_status,
        }
        context = {
            **self.admin_site.each_context(request),
            "title": "Billing dashboard",
            "opts": self.model._meta,
            "numbers": numbers,
            "chart_data": chart_data,
            "credits_total": sum(numbers.credits_consumed),
            "ai_calls_total": sum(numbers.ai_calls),
        }
        return TemplateResponse(request, "admin/billing/dashboard.html", context)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "status", "amount", "currency", "credits", "attempt", "payment_id",
                    "session_id"]  # fmt: skip
    list_filter = ["kind", "status", "created_at"]
    search_fields = ["user__email", "payment_id", "session_id", "id"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_id", "type", "status", "outcome", "payment_id", "occurred_at"]
    list_filter = ["type", "status", "received_at"]
    search_fields = ["event_id", "payment_id", "reference"]
    date_hierarchy = "received_at"
    ordering = ["-received_at"]
