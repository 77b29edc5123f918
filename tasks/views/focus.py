"""HTTP surface of focus sessions (CONTRACT §11)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.responses import envelope
from perpetua.api.views import ApiView
from tasks.selectors import focus as focus_selectors
from tasks.serializers.focus import (
    FocusEndSerializer,
    FocusSessionActiveEnvelopeSerializer,
    FocusSessionEnvelopeSerializer,
    FocusSessionSerializer,
    FocusStartSerializer,
)
from tasks.services import focus as focus_services
from tasks.views.shared import responses

_focus = FocusSessionSerializer()


class FocusStartView(ApiView):
    @extend_schema(
        summary="Start a focus session on a task (one open per user)",
        request=FocusStartSerializer,
        responses=responses(
            {201: FocusSessionEnvelopeSerializer},
            "VALIDATION_ERROR",
            "FORBIDDEN",
            "TASK_NOT_FOUND",
            "CONFLICT",
            "ARCHIVED",
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = FocusStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = focus_services.focus_start(user=request.user, task_id=serializer.validated_data["task_id"])
        return envelope(_focus.to_representation(session), status=201)


class FocusEndView(ApiView):
    @extend_schema(
        summary="End the open focus session (by session_id or task_id)",
        request=FocusEndSerializer,
        responses=responses(
            {200: FocusSessionEnvelopeSerializer},
            "VALIDATION_ERROR",
            "FORBIDDEN",
            "TASK_NOT_FOUND",
            "NOT_FOUND",
            "CONFLICT",
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = FocusEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = focus_services.focus_end(user=request.user, **serializer.validated_data)
        return envelope(_focus.to_representation(session))


class FocusActiveView(ApiView):
    @extend_schema(summary="The open focus session, or null", responses={200: FocusSessionActiveEnvelopeSerializer})
    def get(self, request: Request) -> Response:
        session = focus_selectors.focus_session_active(user=request.user)
        return envelope(None if session is None else _focus.to_representation(session))
