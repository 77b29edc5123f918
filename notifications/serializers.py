"""Output shape of notifications and the list query (CONTRACT §13)."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification
from perpetua.api.serializers import ModelSerializer


class NotificationSerializer(ModelSerializer):
    user_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "user_id",
            "type",
            "title",
            "body",
            "action_url",
            "read",
            "read_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class NotificationListQuerySerializer(serializers.Serializer):
    unread_only = serializers.BooleanField(required=False, default=False, help_text="Only unread notifications.")


class MarkedCountSerializer(serializers.Serializer):
    marked_count = serializers.IntegerField(min_value=0)
