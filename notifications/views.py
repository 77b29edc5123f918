"""Notifications over HTTP (CONTRACT §13)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import selectors, services
from notifications.models import Notification
from notifications.serializers import MarkedCountSerializer, NotificationListQuerySerializer, NotificationSerializer
from perpetua.api.pagination import OffsetPagination
from perpetua.api.responses import envelope
from perpetua.api.views import ApiGenericViewSet


def _error(description: str) -> OpenApiResponse:
    """An error response in the contract's shape (the `Error` component of perpetua.api.schema)."""
    return OpenApiResponse(response={"$ref": "#/components/schemas/Error"}, description=description)


class NotificationPagination(OffsetPagination):
    """The contract's list envelope plus `unread_count` beside `data` and `pagination`."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["required"] = [*result["required"], "unread_count"]
        result["properties"]["unread_count"] = {"type": "integer", "minimum": 0}
        return result


_OWNED = {
    403: _error("FORBIDDEN: the notification belongs to another user."),
    404: _error("NOT_FOUND: no such notification."),
}


class NotificationViewSet(ApiGenericViewSet):
    """In-app notifications of the signed-in user (reminders, achievements, subscription, system)."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination
    queryset = Notification.objects.none()  # schema introspection only; reads go through selectors

    @extend_schema(
        operation_id="notifications_list",
        summary="The user's notifications, newest first, with the unread count",
        parameters=[NotificationListQuerySerializer],
        responses={
            200: NotificationSerializer(many=True),
            400: _error("VALIDATION_ERROR: bad unread_only, offset or limit."),
        },
    )
    def list(self, request: Request) -> Response:
        query = NotificationListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.notification_list(user=request.user, unread_only=query.validated_data["unread_only"])
        page = self.paginate_queryset(queryset)
        return self.paginator.get_paginated_response(
            NotificationSerializer(page, many=True).data,
            unread_count=selectors.notification_unread_count(user=request.user),
        )

    @extend_schema(
        operation_id="notifications_mark_read",
        summary="Mark a notification read",
        request=None,
        responses={
            200: inline_serializer(name="NotificationResponse", fields={"data": NotificationSerializer()}),
            **_OWNED,
        },
    )
    def mark_read(self, request: Request, id: uuid.UUID) -> Response:
        notification = services.notification_mark_read(user=request.user, notification_id=id)
        return envelope(NotificationSerializer(notification).data)

    @extend_schema(
        operation_id="notifications_mark_all_read",
        summary="Mark every notification read",
        request=None,
        responses={200: inline_serializer(name="MarkedCountResponse", fields={"data": MarkedCountSerializer()})},
    )
    def mark_all_read(self, request: Request) -> Response:
        return envelope({"marked_count": services.notifications_mark_all_read(user=request.user)})

    @extend_schema(
        operation_id="notifications_delete",
        summary="Delete a notification",
        request=None,
        responses={204: OpenApiResponse(description="Deleted."), **_OWNED},
    )
    def destroy(self, request: Request, id: uuid.UUID) -> Response:
        services.notification_delete(user=request.user, notification_id=id)
        return Response(status=204)
