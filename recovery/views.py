"""Tombstones, recovery and the activity log over HTTP (CONTRACT §14)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import user_get_own
from perpetua.api.responses import envelope
from perpetua.api.schema import error_response
from perpetua.api.views import ApiGenericViewSet
from recovery import selectors, services
from recovery.models import ActivityEntry, Tombstone
from recovery.registry import recoverable_get, recoverables
from recovery.serializers import ActivityEntrySerializer, TombstoneSerializer


def serialize_restored(entity_type: str, obj: Any, *, user: Any) -> Any:
    """The restored object in its owning app's detail shape, as that app registered it."""
    entry = recoverable_get(entity_type)
    if entry is None:  # pragma: no cover - tombstone_recover refuses unregistered types
        raise RuntimeError(f"no app registered {entity_type!r} for recovery")
    return entry.represent(user=user, restored=obj)


def _restored_response_schema() -> Any:
    """`{"data": <the restored object>}`: one of the registered detail shapes, read when
    the schema is generated (every app has registered by then)."""
    return inline_serializer(
        name="RecoveredObjectResponse",
        fields={
            "data": PolymorphicProxySerializer(
                component_name="RecoveredObject",
                serializers=lambda: [entry.representation for entry in recoverables()],
                resource_type_field_name=None,
            )
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
        return envelope(serialize_restored(entity_type, restored, user=request.user))

    @extend_schema(
        operation_id="tasks_recover",
        summary="Restore a deleted task (alias of POST /tombstones/{id}/recover)",
        tags=["tasks"],
    )
    @_RECOVER_SCHEMA
    def recover_alias(self, request: Request, id: uuid.UUID) -> Response:
        return self.recover(request, id)


_ACTIVITY_FILTERS = [
    OpenApiParameter("entity_type", str, description="Only entries of this type (e.g. task, subtask, note)."),
    OpenApiParameter(
        "entity_id", OpenApiTypes.UUID, description="Only entries of this entity (403 for another user's)."
    ),
]


class ActivityViewSet(ApiGenericViewSet):
    """The user's activity log; entries are kept ACTIVITY_RETENTION_DAYS days."""

    serializer_class = ActivityEntrySerializer
    queryset = ActivityEntry.objects.none()  # schema introspection only; reads go through selectors

    @extend_schema(
        operation_id="activity_list",
        summary="The user's activity log, newest first",
        parameters=_ACTIVITY_FILTERS,
        responses={
            200: ActivityEntrySerializer(many=True),
            400: error_response("VALIDATION_ERROR: bad entity_id, entity_type, offset or limit."),
            403: error_response("FORBIDDEN: entity_id is another user's entity."),
        },
    )
    def list(self, request: Request) -> Response:
        queryset = selectors.activity_list(user=request.user, filters=request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ActivityEntrySerializer(page, many=True).data)

    @extend_schema(
        operation_id="users_activity_list",
        summary="= GET /activity, for the caller's own user id",
        parameters=_ACTIVITY_FILTERS,
        responses={
            200: ActivityEntrySerializer(many=True),
            400: error_response("VALIDATION_ERROR: bad entity_id, entity_type, offset or limit."),
            403: error_response("FORBIDDEN: the id is not the caller's, or entity_id is another user's entity."),
        },
    )
    def list_for_user(self, request: Request, user_id: uuid.UUID) -> Response:
        user_get_own(user=request.user, user_id=user_id)
        return self.list(request)
