from django.urls import path

from credits.views import AICreditsView, CreditBalanceView, CreditHistoryViewSet

urlpatterns = [
    path("credits/balance", CreditBalanceView.as_view(), name="credits-balance"),
    path("credits/history", CreditHistoryViewSet.as_view({"get": "list"}), name="credits-history"),
    path("ai/credits", AICreditsView.as_view(), name="ai-credits"),
]
