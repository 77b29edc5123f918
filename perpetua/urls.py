from django.contrib import admin
from django.urls import include, path

from perpetua.api.metrics import metrics_view
from perpetua.api.ratelimit import throttle_failed_logins

api_v1 = [
    path("", include("perpetua.api.urls")),
    path("", include("accounts.urls")),
    path("", include("tasks.urls")),
    path("", include("notes.urls")),
    path("", include("ai.urls")),
    path("", include("billing.urls")),
    path("", include("credits.urls")),
    path("", include("gamification.urls")),
    path("", include("recovery.urls")),
    path("", include("notifications.urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("admin/login/", throttle_failed_logins(admin.site.login)),  # before the admin's own route
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
]

# Errors raised outside the views (in middleware) still answer the API's error shape.
handler400 = "perpetua.api.handlers.bad_request"
handler403 = "perpetua.api.handlers.permission_denied"
handler404 = "perpetua.api.handlers.page_not_found"
handler500 = "perpetua.api.handlers.server_error"
