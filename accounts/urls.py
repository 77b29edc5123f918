from django.urls import path

from accounts import views

urlpatterns = [
    path("auth/google/callback", views.GoogleCallbackView.as_view(), name="auth-google-callback"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/.well-known/jwks.json", views.JwksView.as_view(), name="auth-jwks"),
    path("users/me", views.MeView.as_view(), name="users-me"),
    path("users/me/export", views.MeExportView.as_view(), name="users-me-export"),
]
