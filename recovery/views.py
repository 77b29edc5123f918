"""Tombstones, recovery and the activity log over HTTP (CONTRACT §14)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import user_get_own
from perpetua.api.responses import envelope
from perpetua.api.schema import error_response
from perpetua.api.views import ApiGenericViewSet
from recovery import selectors, services
from recovery.models import ActivityEntry, Tombstone
from recovery.serializers import ActivityEntrySerializer, ActivityQuerySerializer, TombstoneSerializer


def _task_detail_serializer() -> type[serializers.Serializer] | None:
    """The tasks app's detail serializer, imported lazily (tasks imports recovery)."""
    try:
        from tasks import serializers as task_serializers
    except ImportError:
        return None
    return getattr(task_serializers, "TaskDetailSerializer", None)


def serialize_restored(entity_type: str, obj: Any, *, user: Any, context: dict[str, Any]) -> Any:
    """The restored object in the owning app's detail shape (the one GET /tasks/{id} returns)."""
    if entity_type == "task":
        # Re-read through the tasks app's detail selector: exactly the GET /tasks/{id} shape
        # (counts annotated, subtasks by order_index, reminders prefetched).
        from tasks.selectors import task_detail_for_user

        obj = task_detail_for_user(user=user, task_id=obj.pk)
        serializer_class = _task_detail_serializer()
    else:
        try:
            from notes import serializers as note_serializers
        except ImportError:
            note_serializers = None
        serializer_class = getattr(note_serializers, "NoteSerializer", None)
    if serializer_class is None:  # pragma: no cover - the owning app always ships one
        raise RuntimeError(f"no serializer for restored {entity_type}")
    return serializer_class(obj, context=context).data


def _restored_response_schema() -> Any:
    task_detail = _task_detail_serializer()
    return inline_serializer(
        name="RecoveredObjectResponse",
        fields={
            "data": task_detail()
            if task_detail is not None
            else serializers.JSONField(help_text="The restored task (task detail shape) or note.")
        },
    )


_RECOVER_SCHEMA = extend_schema(
    request=None,
    responses={
        200: OpenApiResponse(
            _restored_response_schema(),
            description="The restored task (with subtasks and reminders) or note, with its original id.",
        ),
        403: error_response("FORBIDDEN: the tombstone belongs to another user."),
        404: error_response("NOT_FOUND: no such tombstone, or it expired."),
        409: error_response("CONFLICT: the original id is taken, or the type is not recoverable."),
    },
)


class TombstoneViewSet(ApiGenericViewSet):
    """Deleted tasks and notes kept for recovery: at most MAX_TOMBSTONES per user, for TOMBSTONE_TTL_DAYS."""

    serializer_class = TombstoneSerializer
    queryset = Tombstone.objects.none()  # schema introspection only; reads go through selectors

    @extend_schema(
        operation_id="tombstones_list",
        summary="The user's recoverable deletions, newest first",
        responses=TombstoneSerializer(many=True),
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.tombstone_list(user=request.user))
        return self.get_paginated_response(TombstoneSerializer(page, many=True).data)

    @extend_schema(operation_id="tombstones_recover", summary="Restore a deleted task or note")
    @_RECOVER_SCHEMA
    def recover(self, request: Request, id: uuid.UUID) -> Response:
        entity_type, restored = services.tombstone_recover(user=request.user, tombstone_id=id)
        return envelope(
            serialize_restored(entity_type, restored, user=request.user, context=self.get_serializer_context())
        )

    @extend_schema(
        operation_id="tasks_recover",
        summary="Restore a deleted task (alias of POST /tombstones/{id}/recover)",
        tags=["tasks"],
    )
    @_RECOVER_SCHEMA
    def recover_alias(self, request: Request, id: uuid.UUID) -> Response:
        return self.recover(request, id)


class ActivityViewSet(ApiGenericViewSet):
    """The user's activity log; entries are kept ACTIVITY_RETENTION_DAYS days."""

    serializer_class = ActivityEntrySerializer
    queryset = ActivityEntry.objects.none()  # schema introspection only; reads go through selectors

    @extend_schema(
        operation_id="activity_list",
        summary="The user's activity log, newest first",
        parameters=[ActivityQuerySerializer],
        responses={
            200: ActivityEntrySerializer(many=True),
            400: error_response("VALIDATION_ERROR: bad entity_id, entity_type, offset or limit."),
            403: error_response("FORBIDDEN: entity_id is another user's entity."),
        },
    )
    def list(self, request: Request) -> Response:
        query = ActivityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.activity_list(user=request.user, **query.validated_data)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ActivityEntrySerializer(page, many=True).data)

    @extend_schema(
        operation_id="users_activity_list",
        summary="= GET /activity, for the caller's own user id",
        parameters=[ActivityQuerySerializer],
        responses={
            200: ActivityEntrySerializer(many=True),
            400: error_response("VALIDATION_ERROR: bad entity_id, entity_type, offset or limit."),
            403: error_response("FORBIDDEN: the id is not the caller's, or entity_id is another user's entity."),
        },
    )
    def list_for_user(self, request: Request, user_id: uuid.UUID) -> Response:
        user_get_own(user=request.user, user_id=user_id)
        return self.list(request)
