"""Output shape of notifications and the list query (CONTRACT §13)."""

from __future__ import annotations

from rest_framework import serializers

from notifications import endpoints, providers
from notifications.models import ENDPOINT_MAX_LENGTH, Notification, PushSubscription
from perpetua.api.serializers import (
    BooleanField,
    CharField,
    FloatField,
    IntegerField,
    ModelSerializer,
    StrictSerializerMixin,
    UUIDField,
)


class NotificationSerializer(ModelSerializer):
    """The Notification object (CONTRACT §13); `message` is the SPA's name for `body`."""

    user_id = UUIDField(read_only=True)
    message = CharField(source="body", read_only=True, allow_blank=True, help_text="= `body`.")
    task_id = UUIDField(read_only=True, allow_null=True, help_text="The reminder's task; null for other notifications.")

    class Meta:
        model = Notification
        fields = [
            "id",
            "user_id",
            "type",
            "title",
            "body",
            "message",
            "task_id",
            "action_url",
            "read",
            "read_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PushSubscriptionDeletedSerializer(serializers.Serializer):
    deleted = BooleanField(help_text="Always true: the endpoint is no longer the caller's (idempotent).")


class MarkedCountSerializer(serializers.Serializer):
    marked_count = IntegerField(min_value=0)


# --- Web Push subscriptions -------------------------------------------------------------------------


def _validate_endpoint(value: str) -> str:
    """Only an https URL of a browser push service (PUSH_ALLOWED_HOSTS): the worker POSTs there."""
    refusal = endpoints.endpoint_refusal(value)
    if refusal is not None:
        raise serializers.ValidationError(refusal)
    return value


def _b64url_key(value: str, *, length: int, what: str) -> bytes:
    try:
        raw = providers.b64url_decode(value)
    except ValueError:
        raise serializers.ValidationError(f"Must be base64url ({what}).") from None
    if len(raw) != length:
        raise serializers.ValidationError(f"Must decode to {length} bytes ({what}).")
    return raw


class PushSubscriptionKeysSerializer(StrictSerializerMixin, serializers.Serializer):
    p256dh = CharField(
        max_length=200, trim_whitespace=True, help_text="The browser's P-256 public key, base64url (65 bytes)."
    )
    auth = CharField(max_length=100, trim_whitespace=True, help_text="The browser's auth secret, base64url (16 bytes).")

    def validate_p256dh(self, value: str) -> str:
        raw = _b64url_key(value, length=providers.P256_PUBLIC_KEY_BYTES, what="an uncompressed P-256 public key")
        try:
            providers.p256_public_key_from_bytes(raw)
        except ValueError:
            raise serializers.ValidationError("Must be an uncompressed P-256 public key.") from None
        return providers.b64url_encode(raw)

    def validate_auth(self, value: str) -> str:
        return providers.b64url_encode(
            _b64url_key(value, length=providers.AUTH_SECRET_BYTES, what="the subscription's auth secret")
        )


class PushSubscriptionInputSerializer(StrictSerializerMixin, serializers.Serializer):
    """The browser's `PushSubscription.toJSON()`, as is."""

    endpoint = CharField(
        max_length=ENDPOINT_MAX_LENGTH,
        validators=[_validate_endpoint],
        help_text="The push service URL the browser was given: https, on a browser push service (PUSH_ALLOWED_HOSTS).",
    )
    # camelCase: the browser's own field name.
    expirationTime = FloatField(required=False, allow_null=True, help_text="Accepted and ignored (browsers send null).")
    keys = PushSubscriptionKeysSerializer()


class PushSubscriptionRemoveSerializer(StrictSerializerMixin, serializers.Serializer):
    endpoint = CharField(max_length=ENDPOINT_MAX_LENGTH, help_text="The endpoint to unsubscribe.")


class PushSubscriptionSerializer(ModelSerializer):
    """A stored subscription. Its keys are not echoed: the auth secret stays server-side."""

    user_id = UUIDField(read_only=True)

    class Meta:
        model = PushSubscription
        fields = ["id", "user_id", "endpoint", "created_at", "updated_at"]
        read_only_fields = fields


class VapidPublicKeySerializer(serializers.Serializer):
    public_key = CharField(
        allow_null=True,
        help_text="The applicationServerKey for pushManager.subscribe (base64url P-256 point); "
        "null when Web Push is not configured on this server.",
    )
