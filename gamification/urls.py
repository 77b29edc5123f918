from django.urls import path

from gamification import views

urlpatterns = [
    path("achievements", views.AchievementDefinitionViewSet.as_view({"get": "list"}), name="achievement-list"),
    path("achievements/me", views.AchievementsMeView.as_view(), name="achievements-me"),
    path("achievements/stats", views.AchievementStatsView.as_view(), name="achievements-stats"),
    path("achievements/limits", views.AchievementLimitsView.as_view(), name="achievements-limits"),
    path("users/<uuid:user_id>/achievements", views.UserAchievementsView.as_view(), name="users-achievements"),
]
