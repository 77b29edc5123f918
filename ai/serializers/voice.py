"""Input and output shapes of `POST /ai/transcribe` (CONTRACT §8, SPA.md aiService.transcribeVoice)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import URLValidator
from rest_framework import serializers

from perpetua.api.serializers import CharField, FloatField, IntegerField, StrictSerializerMixin

AUDIO_URL_MAX_LENGTH = 2000


class TranscribeRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    """The allowed hosts are checked by `ai.services.voice.check_audio_url`."""

    audio_url = CharField(
        max_length=AUDIO_URL_MAX_LENGTH, validators=[URLValidator(schemes=["https"])],
        help_text="https URL of the recording, on a host in TRANSCRIBE_ALLOWED_HOSTS.",
    )  # fmt: skip

    def get_fields(self) -> dict[str, serializers.Field]:
        # The bound is read per request, so a test (or a deployment) may change the setting.
        return {
            **super().get_fields(),
            "duration_seconds": IntegerField(
                min_value=1, max_value=settings.MAX_VOICE_DURATION_SECONDS,
                help_text="Length of the recording in seconds; 5 credits per started minute.",
            ),
        }  # fmt: skip


class TranscribeResultSerializer(serializers.Serializer):
    transcription = CharField(allow_blank=True)
    language = CharField()
    confidence = FloatField(min_value=0, max_value=1)
    credits_used = IntegerField(min_value=0)
    credits_remaining = IntegerField(min_value=0)


class TranscribeEnvelopeSerializer(serializers.Serializer):
    data = TranscribeResultSerializer()


def transcribe_data(result: Any) -> dict[str, Any]:
    return {
        "transcription": result.transcription,
        "language": result.language,
        "confidence": result.confidence,
        "credits_used": result.credits_used,
        "credits_remaining": result.credits_remaining,
    }
