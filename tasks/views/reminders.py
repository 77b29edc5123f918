"""HTTP surface of reminders (CONTRACT §6)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.responses import envelope
from perpetua.api.serializers import DeletedEnvelopeSerializer, deleted_data
from perpetua.api.views import ApiGenericViewSet
from tasks.models import Reminder
from tasks.selectors import reminders as reminder_selectors
from tasks.serializers.reminders import (
    ReminderCreateForTaskSerializer,
    ReminderCreateSerializer,
    ReminderEnvelopeSerializer,
    ReminderSerializer,
    ReminderUpdateSerializer,
)
from tasks.services import reminders as reminder_services
from tasks.views.shared import responses

_reminder = ReminderSerializer()

_WRITE_409 = OpenApiResponse(
    description="LIMIT_EXCEEDED: the task has MAX_REMINDERS_PER_TASK reminders; ARCHIVED: the task is archived."
)
_FIRED = OpenApiParameter("fired", OpenApiTypes.BOOL, description="Only fired / pending reminders.")
_CREATE_RESPONSES = {
    **responses({201: ReminderEnvelopeSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND"),
    409: _WRITE_409,
}
_UPDATE_RESPONSES = {
    **responses({200: ReminderEnvelopeSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "NOT_FOUND"),
    409: _WRITE_409,
}


@extend_schema_view(
    list=extend_schema(
        summary="List the user's reminders",
        parameters=[
            OpenApiParameter("task_id", OpenApiTypes.UUID, description="Only this task's (403 for another user's)."),
            _FIRED,
        ],
        responses=responses({200: ReminderSerializer(many=True)}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND"),
    ),
    create=extend_schema(
        summary="Add a reminder to the task named in the body",
        request=ReminderCreateForTaskSerializer,
        responses=_CREATE_RESPONSES,
    ),
    retrieve=extend_schema(
        summary="Reminder detail", responses=responses({200: ReminderEnvelopeSerializer}, "FORBIDDEN", "NOT_FOUND")
    ),
    partial_update=extend_schema(
        summary="Change a reminder (moving a fired one to a future time re-arms it)",
        request=ReminderUpdateSerializer,
        responses=_UPDATE_RESPONSES,
    ),
    update=extend_schema(
        summary="Alias of PATCH (partial update)", request=ReminderUpdateSerializer, responses=_UPDATE_RESPONSES
    ),
    destroy=extend_schema(
        summary="Delete a reminder",
        responses={**responses({200: DeletedEnvelopeSerializer}, "FORBIDDEN", "NOT_FOUND"), 409: _WRITE_409},
    ),
)
class ReminderViewSet(ApiGenericViewSet):
    queryset = Reminder.objects.none()
    serializer_class = ReminderSerializer
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        return self._listed(request, request.query_params)

    @extend_schema(
        summary="List a task's reminders (= GET /reminders?task_id=)",
        parameters=[_FIRED],
        responses=responses({200: ReminderSerializer(many=True)}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND"),
    )
    def list_for_task(self, request: Request, task_id: Any) -> Response:
        return self._listed(request, {**request.query_params.dict(), "task_id": str(task_id)})

    def create(self, request: Request) -> Response:
        serializer = ReminderCreateForTaskSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._created(request, **serializer.validated_data)

    @extend_schema(summary="Add a reminder to a task", request=ReminderCreateSerializer, responses=_CREATE_RESPONSES)
    def create_for_task(self, request: Request, task_id: Any) -> Response:
        serializer = ReminderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._created(request, task_id=task_id, **serializer.validated_data)

    def retrieve(self, request: Request, pk: Any) -> Response:
        return envelope(
            _reminder.to_representation(reminder_selectors.reminder_get_for_user(user=request.user, reminder_id=pk))
        )

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = ReminderUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reminder = reminder_services.reminder_update(
            user=request.user, reminder_id=pk, data=dict(serializer.validated_data)
        )
        return envelope(_reminder.to_representation(reminder))

    def update(self, request: Request, pk: Any) -> Response:
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: Any) -> Response:
        reminder_services.reminder_delete(user=request.user, reminder_id=pk)
        return envelope(deleted_data(pk))

    def _listed(self, request: Request, filters: Any) -> Response:
        """`/reminders` and `/tasks/{id}/reminders`: one selector, one paginated shape."""
        queryset = reminder_selectors.reminder_list(user=request.user, filters=filters)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([_reminder.to_representation(r) for r in page])

    def _created(self, request: Request, **fields: Any) -> Response:
        """Both create routes: one service (CONTRACT §6)."""
        reminder = reminder_services.reminder_create(user=request.user, **fields)
        return envelope(_reminder.to_representation(reminder), status=201)
