"""HTTP surface of focus sessions (CONTRACT §11): the `/focus/*` actions and the
`/focus-sessions` resource over the same services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.exceptions import unknown_fields_error
from perpetua.api.responses import envelope
from perpetua.api.views import ApiGenericViewSet, ApiView
from tasks.models import FocusSession
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


_START_RESPONSES = responses(
    {201: FocusSessionEnvelopeSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND", "CONFLICT", "ARCHIVED"
)
_LIST_RESPONSES = responses({200: FocusSessionSerializer(many=True)}, "VALIDATION_ERROR")


@extend_schema_view(
    list=extend_schema(summary="The user's focus sessions, newest first", responses=_LIST_RESPONSES),
    create=extend_schema(
        summary="Start a focus session on a task (= POST /focus/start)",
        request=FocusStartSerializer,
        responses=_START_RESPONSES,
    ),
)
class FocusSessionViewSet(ApiGenericViewSet):
    """`/focus-sessions`: the focus services as a resource (CONTRACT §11), the routes the
    SPA's focus hooks call. Same services and selectors as `/focus/*`."""

    queryset = FocusSession.objects.none()
    serializer_class = FocusSessionSerializer
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        return self._listed(request, focus_selectors.focus_session_list(user=request.user))

    @extend_schema(
        summary="A task's focus sessions, newest first",
        responses=responses(
            {200: FocusSessionSerializer(many=True)}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND"
        ),
    )
    def list_for_task(self, request: Request, task_id: Any) -> Response:
        return self._listed(request, focus_selectors.focus_session_list(user=request.user, task_id=task_id))

    def create(self, request: Request) -> Response:
        serializer = FocusStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = focus_services.focus_start(user=request.user, task_id=serializer.validated_data["task_id"])
        return envelope(_focus.to_representation(session), status=201)

    @extend_schema(
        summary="End this focus session (= POST /focus/end {session_id})",
        request=None,
        responses=responses(
            {200: FocusSessionEnvelopeSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "NOT_FOUND", "CONFLICT"
        ),
    )
    def end(self, request: Request, pk: Any) -> Response:
        if request.data:
            raise unknown_fields_error(request.data)
        session = focus_services.focus_end(user=request.user, session_id=pk)
        return envelope(_focus.to_representation(session))

    @extend_schema(
        summary="The running focus session (404 NOT_FOUND when none)",
        responses=responses({200: FocusSessionEnvelopeSerializer}, "NOT_FOUND"),
    )
    def active(self, request: Request) -> Response:
        return envelope(_focus.to_representation(focus_selectors.focus_session_get_active(user=request.user)))

    def _listed(self, request: Request, queryset: Any) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([_focus.to_representation(s) for s in page])
