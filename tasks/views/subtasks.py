"""HTTP surface of subtasks (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from perpetua.api.exceptions import unknown_fields_error
from perpetua.api.responses import envelope
from perpetua.api.serializers import DeletedEnvelopeSerializer, deleted_data
from perpetua.api.views import ApiGenericViewSet
from tasks.models import Task
from tasks.selectors import subtasks as subtask_selectors
from tasks.serializers.subtasks import (
    SubtaskCreateSerializer,
    SubtaskEnvelopeSerializer,
    SubtaskListEnvelopeSerializer,
    SubtaskPatchResponseSerializer,
    SubtaskReorderSerializer,
    SubtaskSerializer,
    SubtaskUpdateSerializer,
)
from tasks.services import subtasks as subtask_services
from tasks.views.shared import responses, unlocks

_subtask = SubtaskSerializer()

_UPDATE_RESPONSES = responses(
    {200: SubtaskPatchResponseSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "NOT_FOUND", "ARCHIVED"
)


@extend_schema_view(
    list=extend_schema(
        summary="A task's subtasks, by order_index",
        responses=responses({200: SubtaskListEnvelopeSerializer}, "FORBIDDEN", "TASK_NOT_FOUND"),
    ),
    create=extend_schema(
        summary="Append a subtask, or insert it at order_index",
        request=SubtaskCreateSerializer,
        responses=responses(
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
        responses=_UPDATE_RESPONSES,
    ),
    update=extend_schema(
        summary="Alias of PATCH (partial update)", request=SubtaskUpdateSerializer, responses=_UPDATE_RESPONSES
    ),
    destroy=extend_schema(
        summary="Delete a subtask (indices re-packed)",
        responses=responses({200: DeletedEnvelopeSerializer}, "FORBIDDEN", "NOT_FOUND", "ARCHIVED"),
    ),
)
class SubtaskViewSet(ApiGenericViewSet):
    queryset = Task.objects.none()
    serializer_class = SubtaskSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def list(self, request: Request, task_id: Any) -> Response:
        subtasks = subtask_selectors.subtask_list_for_user(user=request.user, task_id=task_id)
        return envelope([_subtask.to_representation(s) for s in subtasks])

    def create(self, request: Request, task_id: Any) -> Response:
        serializer = SubtaskCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subtask = subtask_services.subtask_create(user=request.user, task_id=task_id, **serializer.validated_data)
        return envelope(_subtask.to_representation(subtask), status=201)

    def partial_update(self, request: Request, pk: Any) -> Response:
        serializer = SubtaskUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._updated(request, pk, dict(serializer.validated_data))

    def update(self, request: Request, pk: Any) -> Response:
        return self.partial_update(request, pk)

    @extend_schema(
        summary='Complete a subtask (= PATCH {"completed": true})', request=None, responses=_UPDATE_RESPONSES
    )
    def complete(self, request: Request, pk: Any) -> Response:
        if request.data:
            raise unknown_fields_error(request.data)
        return self._updated(request, pk, {"completed": True})

    def destroy(self, request: Request, pk: Any) -> Response:
        subtask_services.subtask_delete(user=request.user, subtask_id=pk)
        return envelope(deleted_data(pk))

    @extend_schema(
        summary="Reorder a task's subtasks",
        request=SubtaskReorderSerializer,
        responses=responses(
            {200: SubtaskListEnvelopeSerializer}, "VALIDATION_ERROR", "FORBIDDEN", "TASK_NOT_FOUND", "ARCHIVED"
        ),
    )
    def reorder(self, request: Request, task_id: Any) -> Response:
        serializer = SubtaskReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subtasks = subtask_services.subtask_reorder(
            user=request.user, task_id=task_id, subtask_ids=serializer.validated_data["subtask_ids"]
        )
        return envelope([_subtask.to_representation(s) for s in subtasks])

    def _updated(self, request: Request, pk: Any, data: dict[str, Any]) -> Response:
        """PATCH, PUT and `/complete`: one service, one response shape."""
        result = subtask_services.subtask_update(user=request.user, subtask_id=pk, data=data)
        return envelope(
            _subtask.to_representation(result.subtask),
            task_completed=result.task_completed,
            unlocked_achievements=unlocks(result.progress),
        )
