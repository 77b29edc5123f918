"""Input validation and output shape of the accounts endpoints (CONTRACT §1, §2)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import User
from perpetua.api.serializers import (
    BooleanField,
    CharField,
    IntegerField,
    ModelSerializer,
    StrictSerializerMixin,
    URLField,
)
from perpetua.api.validators import validate_iana_timezone


class UserSerializer(ModelSerializer):
    """The User object (CONTRACT §1). `name` is never empty; `google_id` is "" without Google."""

    google_id = CharField(
        read_only=True, allow_blank=True, help_text="Google's `sub`; empty for an account never signed in with Google."
    )
    name = CharField(source="display_name", read_only=True, min_length=1, max_length=100)
    avatar_url = URLField(read_only=True, allow_null=True, help_text="null when Google gave no picture.")

    class Meta:
        model = User
        fields = ["id", "google_id", "email", "name", "avatar_url", "timezone", "tier", "created_at", "updated_at"]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["avatar_url"] = data["avatar_url"] or None  # stored as "" when unset; null on the wire (CONTRACT §0)
        return data


class UserUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    name = CharField(min_length=1, max_length=100, required=False)
    timezone = CharField(max_length=64, required=False, validators=[validate_iana_timezone])


class GoogleCallbackSerializer(StrictSerializerMixin, serializers.Serializer):
    id_token = CharField(max_length=8192, trim_whitespace=True)


class RefreshSerializer(StrictSerializerMixin, serializers.Serializer):
    refresh_token = CharField(max_length=256, required=False, allow_blank=True)


class SignInSerializer(serializers.Serializer):
    """The sign-in / refresh response body, flat (no `data` envelope: CONTRACT §1, the SPA
    reads `access_token` at the top level); also what `manage.py issue_token` prints."""

    access_token = CharField()
    refresh_token = CharField()
    token_type = CharField()
    expires_in = IntegerField()
    user = UserSerializer()


class UserEnvelopeSerializer(serializers.Serializer):
    data = UserSerializer()


class LoggedOutSerializer(serializers.Serializer):
    logged_out = BooleanField()


class LoggedOutEnvelopeSerializer(serializers.Serializer):
    data = LoggedOutSerializer()


class AccountDeletedSerializer(serializers.Serializer):
    deleted = BooleanField()


class AccountDeletedEnvelopeSerializer(serializers.Serializer):
    data = AccountDeletedSerializer()


class UserExportEnvelopeSerializer(serializers.Serializer):
    data = serializers.DictField(child=serializers.JSONField())


def sign_in_data(result: Any) -> dict[str, Any]:
    return SignInSerializer(result).data
