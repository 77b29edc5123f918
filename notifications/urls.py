from django.urls import path

from notifications.views import NotificationViewSet

urlpatterns = [
    path("notifications", NotificationViewSet.as_view({"get": "list"}), name="notification-list"),
    path(
        "notifications/read-all", NotificationViewSet.as_view({"post": "mark_all_read"}), name="notification-read-all"
    ),
    path("notifications/<uuid:id>/read", NotificationViewSet.as_view({"patch": "mark_read"}), name="notification-read"),
    path("notifications/<uuid:id>", NotificationViewSet.as_view({"delete": "destroy"}), name="notification-detail"),
]
