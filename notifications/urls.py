from django.urls import path

from notifications.views import NotificationViewSet, PushSubscriptionView, VapidPublicKeyView

urlpatterns = [
    path("notifications/push-subscription", PushSubscriptionView.as_view(), name="push-subscription"),
    path(
        "notifications/push-subscription/vapid-public-key",
        VapidPublicKeyView.as_view(),
        name="push-vapid-public-key",
    ),
    path("notifications", NotificationViewSet.as_view({"get": "list"}), name="notification-list"),
    path(
        "notifications/read-all", NotificationViewSet.as_view({"post": "mark_all_read"}), name="notification-read-all"
    ),
    path("notifications/<uuid:id>/read", NotificationViewSet.as_view({"patch": "mark_read"}), name="notification-read"),
    path("notifications/<uuid:id>", NotificationViewSet.as_view({"delete": "destroy"}), name="notification-detail"),
]
