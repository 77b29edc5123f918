"""HTTP surface of reminders (CONTRACT §6)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.responses import envelope
from perpetua.api.views import ApiGenericViewSet
from tasks.models import Reminder
from tasks.selectors import reminders as reminder_selectors
from tasks.serializers.reminders import (
    ReminderCreateSerializer,
    ReminderEnvelopeSerializer,
    ReminderSerializer,
    ReminderUpdateSerializer,
)
from tasks.services import reminders as reminder_services

_reminder = ReminderSerializer()

_WRITE_409 = OpenApiResponse(
    description="LIMIT_EXCEEDED: the task has MAX_REMINDERS_PER_TASK reminders; ARCHIVED: the task is archived."
)


@extend_schema_view(
    list=extend_schema(
        summary="List the user's reminders",
        parameters=[
            OpenApiParameter("task_id", OpenApiTypes.UUID, description="Only this task's (403 for another user's)."),
            OpenApiParameter("fired", OpenApiTypes.BOOL, description="Only fired / pending reminders."),
        ],
        responses={200: ReminderSerializer(many=True)},
    ),
    create=extend_schema(
        summary="Add a reminder to a task",
        request=ReminderCreateSerializer,
        responses={201: ReminderEnvelopeSerializer, 409: _WRITE_409},
    ),
    retrieve=extend_schema(summary="Reminder detail", responses={200: ReminderEnvelopeSerializer}),
    partial_update=extend_schema(
        summary="Change a reminder (moving a fired one to a future time re-arms it)",
        request=ReminderUpdateSerializer,
        responses={200: ReminderEnvelopeSerializer, 409: _WRITE_409},
    ),
    destroy=extend_schema(summary="Delete a reminder", responses={204: OpenApiResponse(description="Deleted.")}),
)
class ReminderViewSet(ApiGenericViewSet):
    queryset = Reminder.objects.none()
    serializer_class = ReminderSerializer
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        queryset = reminder_selectors.reminder_list(user=request.user, filters=request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([_reminder.to_representation(r) for r in page])

    def create(self, request: Request, task_id: Any) -> Response:
        serializer = ReminderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reminder = reminder_services.reminder_create(user=request.user, task_id=task_id, **serializer.validated_data)
        return envelope(_reminder.to_representation(reminder), status=201)

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

    def destroy(self, request: Request, pk: Any) -> Response:
        reminder_services.reminder_delete(user=request.user, reminder_id=pk)
        return Response(status=204)
