"""HTTP surface of tasks, subtasks and focus sessions (CONTRACT §3, §4, §11).

Each handler validates input with a serializer, calls one service or selector, and
shapes the contract's envelope. Errors are raised, never built here.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.errors import field_error
from perpetua.api.responses import envelope
from perpetua.api.serializers import format_datetime
from perpetua.api.views import ApiGenericViewSet, ApiView
from tasks import selectors, services
from tasks.filters import ORDERING_FIELDS
from tasks.models import Priority, Task
from tasks.serializers import (
    FocusEndSerializer,
    FocusSessionActiveEnvelopeSerializer,
    FocusSessionEnvelopeSerializer,
    FocusSessionSerializer,
    FocusStartSerializer,
    ForceCompleteResponseSerializer,
    SubtaskCreateSerializer,
    SubtaskEnvelopeSerializer,
    SubtaskListEnvelopeSerializer,
    SubtaskPatchResponseSerializer,
    SubtaskReorderSerializer,
    SubtaskSerializer,
    SubtaskUpdateSerializer,
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

_task = TaskSerializer()
_task_detail = TaskDetailSerializer()
_subtask = SubtaskSerializer()
_focus = FocusSessionSerializer()

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


_ERRORS = {
    "VALIDATION_ERROR": (400, "VALIDATION_ERROR: invalid body, query or path value (field errors in `details`)."),
    "FORBIDDEN": (403, "FORBIDDEN: the resource (or an id in the body) belongs to another user."),
    "TASK_NOT_FOUND": (404, "TASK_NOT_FOUND: no such task."),
    "NOT_FOUND": (404, "NOT_FOUND: no such resource."),
    "CONFLICT": (409, "CONFLICT: stale `version`, or the state forbids it."),
    "LIMIT_EXCEEDED": (409, "LIMIT_EXCEEDED: tier/perk limit reached."),
    "ARCHIVED": (409, "ARCHIVED: the task is archived."),
}


def _responses(ok: dict[int, Any], *codes: str) -> dict[int, Any]:
    """Success responses plus the contract errors this endpoint can return (CONTRACT §0)."""
    out: dict[int, Any] = dict(ok)
    merged: dict[int, list[str]] = {}
    for code in codes:
        status, text = _ERRORS[code]
        merged.setdefault(status, []).append(text)
    for status, texts in merged.items():
        out[status] = OpenApiResponse(description=" / ".join(texts))
    return out


def _unlocks(progress: Any) -> list[dict[str, Any]]:
    return list(progress.unlocked_achievements)


_PATCH_RESPONSES = _responses(
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
        responses=_responses({200: TaskSerializer(many=True)}, "VALIDATION_ERROR"),
    ),
    create=extend_schema(
        summary="Create a task",
        request=TaskCreateSerializer,
        responses=_responses({201: TaskEnvelopeSerializer}, "VALIDATION_ERROR", "LIMIT_EXCEEDED"),
    ),
    retrieve=extend_schema(
        summary="Task detail with subtasks and reminders",
        responses=_responses({200: TaskDetailEnvelopeSerializer}, "FORBIDDEN", "TASK_NOT_FOUND"),
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
        responses=_responses(
            {200: TaskDeletedResponseSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND", "CONFLICT"
        ),
    ),
)
class TaskViewSet(ApiGenericViewSet):
    queryset = Task.objects.none()
    serializer_class = TaskSerializer
    filter_backends: list[Any] = []  # the selector applies tasks.filters.TaskFilter itself

    def list(self, request: Request) -> Response:
        queryset = selectors.task_list(user=request.user, filters=request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([_task.to_representation(t) for t in page])

    def create(self, request: Request) -> Response:
        serializer = TaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_create(user=request.user, **serializer.validated_data)
        return envelope(_task.to_representation(task), status=201)

    def retrieve(self, request: Request, pk: Any) -> Response:
        task = selectors.task_detail_for_user(user=request.user, task_id=pk)
        return envelope(_task_detail.to_representation(task))

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = TaskUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        rrule, scope = data.pop("rrule", None), data.pop("scope", None)
        result = services.task_update(
            user=request.user, task_id=pk, version=version, data=data, rrule=rrule, scope=scope
        )
        return envelope(_task.to_representation(result.task), unlocked_achievements=_unlocks(result.progress))

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
        tombstone = services.task_delete(user=request.user, task_id=pk, version=version)
        return envelope(
            {"tombstone_id": str(tombstone.id), "recoverable_until": format_datetime(tombstone.recoverable_until)}
        )

    @extend_schema(
        summary="Complete the task and all its open subtasks",
        request=VersionSerializer,
        responses=_responses(
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
        result = services.task_force_complete(
            user=request.user, task_id=pk, version=serializer.validated_data["version"]
        )
        return envelope(
            {
                "task": _task.to_representation(result.task),
                "unlocked_achievements": _unlocks(result.progress),
                "streak": result.progress.streak,
            }
        )


@extend_schema_view(
    create=extend_schema(
        summary="Append a subtask",
        request=SubtaskCreateSerializer,
        responses=_responses(
            {201: SubtaskEnvelopeSerializer},
            "VALIDATION_ERROR",
            "FORBIDDEN",
            "TASK_NOT_FOUND",
            "LIMIT_EXCEEDED",
            "ARCHIVED",
        ),
    ),
    partial_update=extend_schema(
        summary="Rename, complete or reopen a subtask",
        request=SubtaskUpdateSerializer,
        responses=_responses(
            {200: SubtaskPatchResponseSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "NOT_FOUND", "ARCHIVED"
        ),
    ),
    destroy=extend_schema(
        summary="Delete a subtask (indices re-packed)",
        responses=_responses({204: OpenApiResponse(description="Deleted.")}, "FORBIDDEN", "NOT_FOUND", "ARCHIVED"),
    ),
)
class SubtaskViewSet(ApiGenericViewSet):
    queryset = Task.objects.none()
    serializer_class = SubtaskSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def create(self, request: Request, task_id: Any) -> Response:
        serializer = SubtaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subtask = services.subtask_create(user=request.user, task_id=task_id, title=serializer.validated_data["title"])
        return envelope(_subtask.to_representation(subtask), status=201)

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = SubtaskUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.subtask_update(user=request.user, subtask_id=pk, data=dict(serializer.validated_data))
        return envelope(
            _subtask.to_representation(result.subtask),
            task_completed=result.task_completed,
            unlocked_achievements=_unlocks(result.progress),
        )

    def destroy(self, request: Request, pk: Any) -> Response:
        services.subtask_delete(user=request.user, subtask_id=pk)
        return Response(status=204)

    @extend_schema(
        summary="Reorder a task's subtasks",
        request=SubtaskReorderSerializer,
        responses=_responses(
            {200: SubtaskListEnvelopeSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND", "ARCHIVED"
        ),
    )
    def reorder(self, request: Request, task_id: Any) -> Response:
        serializer = SubtaskReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subtasks = services.subtask_reorder(
            user=request.user, task_id=task_id, subtask_ids=serializer.validated_data["subtask_ids"]
        )
        return envelope([_subtask.to_representation(s) for s in subtasks])


class FocusStartView(ApiView):
    @extend_schema(
        summary="Start a focus session on a task (one open per user)",
        request=FocusStartSerializer,
        responses=_responses(
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
        session = services.focus_start(user=request.user, task_id=serializer.validated_data["task_id"])
        return envelope(_focus.to_representation(session), status=201)


class FocusEndView(ApiView):
    @extend_schema(
        summary="End the open focus session (by session_id or task_id)",
        request=FocusEndSerializer,
        responses=_responses(
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
        session = services.focus_end(user=request.user, **serializer.validated_data)
        return envelope(_focus.to_representation(session))


class FocusActiveView(ApiView):
    @extend_schema(summary="The open focus session, or null", responses={200: FocusSessionActiveEnvelopeSerializer})
    def get(self, request: Request) -> Response:
        session = selectors.focus_session_active(user=request.user)
        return envelope(None if session is None else _focus.to_representation(session))
