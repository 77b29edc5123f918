"""Input validation and output shape of the accounts endpoints (CONTRACT §1, §2)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from rest_framework import serializers

from accounts.models import User
from perpetua.api.serializers import ModelSerializer, StrictSerializerMixin


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


class UserSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name", "avatar_url", "timezone", "tier", "created_at", "updated_at"]
        read_only_fields = fields


class UserUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=100, required=False)
    timezone = serializers.CharField(max_length=64, required=False)

    def validate_timezone(self, value: str) -> str:
        if value not in _timezones():
            raise serializers.ValidationError("Not a valid IANA time zone (e.g. 'Europe/Paris').")
        return value


class GoogleCallbackSerializer(StrictSerializerMixin, serializers.Serializer):
    id_token = serializers.CharField(max_length=8192, trim_whitespace=True)


class RefreshSerializer(StrictSerializerMixin, serializers.Serializer):
    refresh_token = serializers.CharField(max_length=256, required=False, allow_blank=True)


class SignInSerializer(serializers.Serializer):
    """The sign-in / refresh response data; also what `manage.py issue_token` prints."""

    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    user = UserSerializer()


class SignInEnvelopeSerializer(serializers.Serializer):
    data = SignInSerializer()


class UserEnvelopeSerializer(serializers.Serializer):
    data = UserSerializer()


class UserExportEnvelopeSerializer(serializers.Serializer):
    data = serializers.DictField(child=serializers.JSONField())


def sign_in_data(result: Any) -> dict[str, Any]:
    return SignInSerializer(result).data
