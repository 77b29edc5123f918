"""Notifications over HTTP (CONTRACT §13)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import providers, push, selectors, services
from notifications.models import Notification
from notifications.serializers import (
    MarkedCountSerializer,
    NotificationSerializer,
    PushSubscriptionDeletedSerializer,
    PushSubscriptionInputSerializer,
    PushSubscriptionRemoveSerializer,
    PushSubscriptionSerializer,
    VapidPublicKeySerializer,
)
from perpetua.api.pagination import OffsetPagination
from perpetua.api.responses import envelope
from perpetua.api.schema import AutoSchema, error_response
from perpetua.api.serializers import DeletedEnvelopeSerializer, deleted_data
from perpetua.api.views import ApiGenericViewSet, ApiView


class NotificationPagination(OffsetPagination):
    """The contract's list envelope plus `unread_count` beside `data` and `pagination`."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["required"] = [*result["required"], "unread_count"]
        result["properties"]["unread_count"] = {"type": "integer", "minimum": 0}
        return result


_OWNED = {
    403: error_response("FORBIDDEN: the notification belongs to another user."),
    404: error_response("NOT_FOUND: no such notification."),
}


class NotificationViewSet(ApiGenericViewSet):
    """In-app notifications of the signed-in user (reminders, achievements, subscription, system)."""

    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination
    queryset = Notification.objects.none()  # schema introspection only; reads go through selectors

    @extend_schema(
        operation_id="notifications_list",
        summary="The user's notifications, newest first, with the unread count",
        parameters=[
            OpenApiParameter("unread_only", OpenApiTypes.BOOL, description="`true`: only unread notifications."),
        ],
        responses={
            200: NotificationSerializer(many=True),
            400: error_response("VALIDATION_ERROR: bad unread_only, offset or limit."),
        },
    )
    def list(self, request: Request) -> Response:
        queryset = selectors.notification_list(user=request.user, filters=request.query_params)
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
        responses={
            200: DeletedEnvelopeSerializer,
            **_OWNED,
        },
    )
    def destroy(self, request: Request, id: uuid.UUID) -> Response:
        services.notification_delete(user=request.user, notification_id=id)
        return envelope(deleted_data(id))


class _RequestBodyOnDeleteSchema(AutoSchema):
    """drf-spectacular documents request bodies only for POST/PUT/PATCH; this view's DELETE
    takes one (`{endpoint}`, what the browser's subscription gives), so describe it too."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


_SUBSCRIPTION_RESPONSE = inline_serializer(
    name="PushSubscriptionResponse", fields={"data": PushSubscriptionSerializer()}
)


class PushSubscriptionView(ApiView):
    """The signed-in user's browser Web Push subscriptions (CONTRACT §13)."""

    schema = _RequestBodyOnDeleteSchema()

    @extend_schema(
        operation_id="notifications_push_subscription_create",
        summary="Register this browser's Web Push subscription",
        description=(
            "Send `PushSubscription.toJSON()` as is. The endpoint must be an https URL of a browser "
            "push service (PUSH_ALLOWED_HOSTS: FCM, Mozilla, Windows, Apple by default). "
            "201 when stored, 200 when the caller already "
            "had this endpoint (its keys are refreshed). An endpoint held by another user moves to "
            "the caller (same browser, new sign-in). At most PUSH_MAX_SUBSCRIPTIONS_PER_USER are "
            "kept per user; the least recently registered is dropped."
        ),
        request=PushSubscriptionInputSerializer,
        responses={
            201: _SUBSCRIPTION_RESPONSE,
            200: _SUBSCRIPTION_RESPONSE,
            400: error_response(
                "VALIDATION_ERROR: endpoint not an https URL of a browser push service, "
                "keys not base64url of 65 / 16 bytes."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = PushSubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription, created = push.push_subscription_register(
            user=request.user, endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"], auth=data["keys"]["auth"]
        )
        return envelope(PushSubscriptionSerializer(subscription).data, status=201 if created else 200)

    @extend_schema(
        operation_id="notifications_push_subscription_delete",
        summary="Remove this browser's Web Push subscription",
        description="Idempotent: 200 whether or not the caller had this endpoint; never touches another user's.",
        request=PushSubscriptionRemoveSerializer,
        responses={
            200: inline_serializer(
                name="PushSubscriptionDeletedResponse", fields={"data": PushSubscriptionDeletedSerializer()}
            ),
            400: error_response("VALIDATION_ERROR: endpoint missing."),
        },
    )
    def delete(self, request: Request) -> Response:
        serializer = PushSubscriptionRemoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        push.push_subscription_remove(user=request.user, endpoint=serializer.validated_data["endpoint"])
        return envelope({"deleted": True})


class VapidPublicKeyView(ApiView):
    """What the SPA needs to subscribe: the server's VAPID public key."""

    @extend_schema(
        operation_id="notifications_push_vapid_public_key",
        summary="The VAPID public key (applicationServerKey) for pushManager.subscribe",
        description="`public_key` is null when Web Push is not configured: the SPA hides the push option.",
        responses={200: inline_serializer(name="VapidPublicKeyResponse", fields={"data": VapidPublicKeySerializer()})},
    )
    def get(self, request: Request) -> Response:
        return envelope({"public_key": providers.vapid_public_key()})
