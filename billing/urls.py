from django.urls import path

from billing.views import (
    CheckoutWebhookView,
    PurchaseCreditsView,
    SubscriptionCancelView,
    SubscriptionCheckoutView,
    SubscriptionUpgradeView,
    SubscriptionView,
)

urlpatterns = [
    path("subscription", SubscriptionView.as_view(), name="subscription"),
    path("subscription/checkout", SubscriptionCheckoutView.as_view(), name="subscription-checkout"),
    path("subscription/upgrade", SubscriptionUpgradeView.as_view(), name="subscription-upgrade"),
    path("subscription/cancel", SubscriptionCancelView.as_view(), name="subscription-cancel"),
    path("subscription/purchase-credits", PurchaseCreditsView.as_view(), name="subscription-purchase-credits"),
    path("webhooks/checkout", CheckoutWebhookView.as_view(), name="webhooks-checkout"),
]
