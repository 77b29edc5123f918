"""HTTP surface of reminders (CONTRACT §6)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.errors import field_error
from perpetua.api.responses import envelope
from perpetua.api.views import ApiGenericViewSet
from tasks import reminders
from tasks.models import Reminder
from tasks.serializers_reminders import (
    ReminderCreateSerializer,
    ReminderEnvelopeSerializer,
    ReminderSerializer,
    ReminderUpdateSerializer,
)
from tasks.views_recurring import parse_bool_param

_reminder = ReminderSerializer()

_WRITE_409 = OpenApiResponse(
    description="LIMIT_EXCEEDED: the task has MAX_REMINDERS_PER_TASK reminders; ARCHIVED: the task is archived."
)


def _parse_uuid_param(request: Request, name: str) -> uuid.UUID | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise field_error(name, "Must be a UUID.") from None


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
        queryset = reminders.reminder_list(
            user=request.user,
            task_id=_parse_uuid_param(request, "task_id"),
            fired=parse_bool_param(request, "fired"),
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([_reminder.to_representation(r) for r in page])

    def create(self, request: Request, task_id: Any) -> Response:
        serializer = ReminderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reminder = reminders.reminder_create(user=request.user, task_id=task_id, **serializer.validated_data)
        return envelope(_reminder.to_representation(reminder), status=201)

    def retrieve(self, request: Request, pk: Any) -> Response:
        return envelope(_reminder.to_representation(reminders.reminder_get_for_user(user=request.user, reminder_id=pk)))

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = ReminderUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reminder = reminders.reminder_update(user=request.user, reminder_id=pk, data=dict(serializer.validated_data))
        return envelope(_reminder.to_representation(reminder))

    def destroy(self, request: Request, pk: Any) -> Response:
        reminders.reminder_delete(user=request.user, reminder_id=pk)
        return Response(status=204)
