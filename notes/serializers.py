"""Input validation and output shape of notes (CONTRACT §7, SPA.md §1 Note)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import URLValidator
from rest_framework import serializers

from notes.models import CONTENT_MAX_LENGTH, VOICE_URL_MAX_LENGTH, Note, TranscriptionStatus
from perpetua.api.serializers import (
    BooleanField,
    CharField,
    ChoiceField,
    DateTimeField,
    IntegerField,
    StrictSerializerMixin,
    UUIDField,
    format_datetime,
)


class NoteSerializer(serializers.Serializer):
    """Note object; the voice keys are always present (null when unset), as the SPA requires."""

    id = UUIDField()
    user_id = UUIDField()
    content = CharField(max_length=CONTENT_MAX_LENGTH)
    archived = BooleanField()
    voice_url = CharField(allow_null=True)
    voice_duration_seconds = IntegerField(allow_null=True, min_value=1)
    transcription_status = ChoiceField(choices=TranscriptionStatus.choices, allow_null=True)
    created_at = DateTimeField()
    updated_at = DateTimeField()

    def to_representation(self, note: Note) -> dict[str, Any]:
        return {
            "id": str(note.id),
            "user_id": str(note.user_id),
            "content": note.content,
            "archived": note.archived,
            "voice_url": note.voice_url,
            "voice_duration_seconds": note.voice_duration_seconds,
            "transcription_status": note.transcription_status,
            "created_at": format_datetime(note.created_at),
            "updated_at": format_datetime(note.updated_at),
        }


_note = NoteSerializer()


def note_data(note: Note) -> dict[str, Any]:
    return _note.to_representation(note)


def note_represent(*, user: Any, restored: Note) -> dict[str, Any]:
    """A note just recovered from its tombstone, in the `GET /notes/{id}` shape (registered for recovery)."""
    return note_data(restored)


class NoteEnvelopeSerializer(serializers.Serializer):
    data = NoteSerializer()


class NoteDeletedDataSerializer(serializers.Serializer):
    id = UUIDField()
    tombstone_id = UUIDField()
    recoverable_until = DateTimeField()


class NoteDeletedResponseSerializer(serializers.Serializer):
    data = NoteDeletedDataSerializer()


# --- input ----------------------------------------------------------------------------------


def _voice_fields() -> dict[str, serializers.Field]:
    return {
        "voice_url": CharField(
            required=False, allow_null=True, max_length=VOICE_URL_MAX_LENGTH,
            validators=[URLValidator(schemes=["https", "http"])], help_text="Pro only.",
        ),
        "voice_duration_seconds": IntegerField(
            required=False, allow_null=True, min_value=1, max_value=settings.MAX_VOICE_DURATION_SECONDS,
            help_text="Pro only.",
        ),
        "transcription_status": ChoiceField(
            choices=TranscriptionStatus.choices, required=False, allow_null=True, help_text="Pro only."
        ),
    }  # fmt: skip


class NoteCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """POST /notes. Limits and the Pro-only voice fields are enforced by `notes.services.note_create`."""

    content = CharField(max_length=CONTENT_MAX_LENGTH, trim_whitespace=False)
    archived = BooleanField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_voice_fields()}


class NoteUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """PATCH|PUT /notes/{id}: every field optional (CONTRACT §0)."""

    content = CharField(required=False, max_length=CONTENT_MAX_LENGTH, trim_whitespace=False)
    archived = BooleanField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **_voice_fields()}
