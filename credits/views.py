"""HTTP surface of the credits ledger (CONTRACT §10): balance, history, `/ai/credits`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from credits import selectors
from credits.models import CreditEntry
from credits.serializers import (
    AICreditsEnvelopeSerializer,
    AICreditsSerializer,
    CreditBalanceEnvelopeSerializer,
    CreditBalanceSerializer,
    CreditHistoryEntrySerializer,
)
from perpetua.api.responses import envelope
from perpetua.api.serializers import format_datetime
from perpetua.api.views import ApiGenericViewSet, ApiView

_balance = CreditBalanceSerializer()
_ai_balance = AICreditsSerializer().fields["balance"]
_entry = CreditHistoryEntrySerializer()


class CreditBalanceView(ApiView):
    @extend_schema(
        operation_id="credits_balance", summary="The caller's credits by type",
        responses=CreditBalanceEnvelopeSerializer,
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return envelope(_balance.to_representation(selectors.balance_for_user(user=request.user)))


class AICreditsView(ApiView):
    @extend_schema(
        operation_id="ai_credits", summary="The caller's credits, next daily reset and tier",
        responses=AICreditsEnvelopeSerializer,
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        balance = selectors.balance_for_user(user=request.user)
        return envelope(
            {
                "balance": _ai_balance.to_representation(balance),
                "daily_reset_at": format_datetime(selectors.next_utc_midnight()),
                "tier": request.user.tier,
            }
        )


class CreditHistoryViewSet(ApiGenericViewSet):
    queryset = CreditEntry.objects.none()  # schema introspection only; reads go through selectors
    serializer_class = CreditHistoryEntrySerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="credits_history", summary="The caller's credit ledger, newest first",
        responses=CreditHistoryEntrySerializer(many=True),
    )  # fmt: skip
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.history_for_user(user=request.user))
        return self.get_paginated_response([_entry.to_representation(e) for e in page])
