"""HTTP surface of tasks (CONTRACT §3).

Each handler validates input with a serializer, calls one service or selector, and
shapes the contract's envelope. Errors are raised, never built here.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.exceptions import field_error
from perpetua.api.responses import envelope
from perpetua.api.serializers import format_datetime
from perpetua.api.views import ApiGenericViewSet
from tasks.filters import ORDERING_FIELDS
from tasks.models import Priority, Task
from tasks.selectors import tasks as task_selectors
from tasks.serializers.tasks import (
    ForceCompleteResponseSerializer,
    TaskCreateSerializer,
    TaskDeletedResponseSerializer,
    TaskDetailEnvelopeSerializer,
    TaskDetailSerializer,
    TaskEnvelopeSerializer,
    TaskPatchResponseSerializer,
    TaskSerializer,
    TaskUpdateSerializer,
    VersionSerializer,
)
from tasks.services import snapshots
from tasks.services import tasks as task_services
from tasks.views.shared import responses, unlocks

_task = TaskSerializer()
_task_detail = TaskDetailSerializer()

_BOOL = OpenApiTypes.BOOL
_LIST_PARAMETERS = [
    OpenApiParameter("completed", _BOOL, description="Only completed (`true`) or open (`false`) tasks."),
    OpenApiParameter("priority", str, enum=Priority.values, description="Only tasks of this priority."),
    OpenApiParameter(
        "hidden", _BOOL, description="Absent or `false`: hidden tasks are left out; `true`: included with the others."
    ),
    OpenApiParameter("archived", _BOOL, description="Absent: both; `true`/`false`: only archived / not archived."),
    OpenApiParameter(
        "due_before", OpenApiTypes.DATETIME, description="due_date ≤ this (ISO-8601 datetime or date; inclusive)."
    ),
    OpenApiParameter(
        "due_after", OpenApiTypes.DATETIME, description="due_date ≥ this (ISO-8601 datetime or date; inclusive)."
    ),
    OpenApiParameter("template_id", OpenApiTypes.UUID, description="Only instances of this recurring template."),
    OpenApiParameter("search", str, description="Case-insensitive substring of title or description."),
    OpenApiParameter(
        "ordering",
        str,
        description=(
            f"Comma-separated of {', '.join(ORDERING_FIELDS)}; `-` prefix descends. Default `-created_at`. "
            "`priority` ascending is low → medium → high. Tasks without due date sort last."
        ),
    ),
]


def task_detail_data(*, user: Any, task_id: uuid.UUID | str) -> dict[str, Any]:
    """The `GET /tasks/{id}` data object: also what a recovered task is answered with
    (registered for recovery in `tasks.apps`)."""
    return _task_detail.to_representation(task_selectors.task_detail_for_user(user=user, task_id=task_id))


def task_recovered_data(*, user: Any, restored: Task) -> dict[str, Any]:
    """A task just restored from its tombstone, re-read in the detail shape."""
    return task_detail_data(user=user, task_id=restored.pk)


_PATCH_RESPONSES = responses(
    {200: TaskPatchResponseSerializer},
    "VALIDATION_ERROR",
    "FORBIDDEN",
    "TASK_NOT_FOUND",
    "CONFLICT",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
)


@extend_schema_view(
    list=extend_schema(
        summary="List tasks",
        parameters=_LIST_PARAMETERS,
        responses=responses({200: TaskSerializer(many=True)}, "VALIDATION_ERROR"),
    ),
    create=extend_schema(
        summary="Create a task",
        request=TaskCreateSerializer,
        responses=responses({201: TaskEnvelopeSerializer}, "VALIDATION_ERROR", "LIMIT_EXCEEDED"),
    ),
    retrieve=extend_schema(
        summary="Task detail with subtasks and reminders",
        responses=responses({200: TaskDetailEnvelopeSerializer}, "FORBIDDEN", "TASK_NOT_FOUND"),
    ),
    partial_update=extend_schema(
        summary="Update, complete, reopen, archive or unarchive a task",
        request=TaskUpdateSerializer,
        responses=_PATCH_RESPONSES,
    ),
    update=extend_schema(
        summary="Alias of PATCH (partial update)", request=TaskUpdateSerializer, responses=_PATCH_RESPONSES
    ),
    destroy=extend_schema(
        summary="Delete a task into a recoverable tombstone",
        parameters=[
            OpenApiParameter("version", OpenApiTypes.INT, description="Optional; a stale version is 409 CONFLICT.")
        ],
        responses=responses(
            {200: TaskDeletedResponseSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND", "CONFLICT"
        ),
    ),
)
class TaskViewSet(ApiGenericViewSet):
    queryset = Task.objects.none()
    serializer_class = TaskSerializer
    filter_backends: list[Any] = []  # the selector applies tasks.filters.TaskFilter itself

    def list(self, request: Request) -> Response:
        fetch = functools.partial(task_selectors.task_page, user=request.user, filters=request.query_params)
        page = self.paginator.paginate_with(request, fetch)
        return self.get_paginated_response([_task.to_representation(t) for t in page])

    def create(self, request: Request) -> Response:
        serializer = TaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_services.task_create(user=request.user, **serializer.validated_data)
        return envelope(_task.to_representation(task), status=201)

    def retrieve(self, request: Request, pk: Any) -> Response:
        return envelope(task_detail_data(user=request.user, task_id=pk))

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = TaskUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version", None)
        rrule, scope = data.pop("rrule", None), data.pop("scope", None)
        result = task_services.task_update(
            user=request.user, task_id=pk, version=version, data=data, rrule=rrule, scope=scope
        )
        return envelope(_task.to_representation(result.task), unlocked_achievements=unlocks(result.progress))

    def update(self, request: Request, pk: Any) -> Response:
        return self.partial_update(request, pk)

    def destroy(self, request: Request, pk: Any) -> Response:
        raw = request.query_params.get("version")
        version = None
        if raw not in (None, ""):
            try:
                version = int(raw)
            except ValueError:
                version = 0
            if version < 1:
                raise field_error("version", "Must be a positive integer.")
        tombstone = snapshots.task_delete(user=request.user, task_id=pk, version=version)
        return envelope(
            {
                "id": str(pk),
                "tombstone_id": str(tombstone.id),
                "recoverable_until": format_datetime(tombstone.recoverable_until),
            }
        )

    @extend_schema(
        summary="Complete the task and all its open subtasks",
        request=VersionSerializer,
        responses=responses(
            {200: ForceCompleteResponseSerializer},
            "VALIDATION_ERROR",
            "FORBIDDEN",
            "TASK_NOT_FOUND",
            "CONFLICT",
            "ARCHIVED",
        ),
    )
    def force_complete(self, request: Request, pk: Any) -> Response:
        serializer = VersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = task_services.task_force_complete(
            user=request.user, task_id=pk, version=serializer.validated_data.get("version")
        )
        return envelope(
            {
                "task": _task.to_representation(result.task),
                "unlocked_achievements": unlocks(result.progress),
                "streak": result.progress.streak,
            }
        )
