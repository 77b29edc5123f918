"""`POST /ai/transcribe` (CONTRACT §8): validate, call the one service. An async view (the
Deepgram call is awaited on the event loop, like the other AI calls); the voice relay
WebSocket is `ai.consumers`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from ai.serializers.voice import TranscribeEnvelopeSerializer, TranscribeRequestSerializer, transcribe_data
from ai.services import voice as voice_services
from ai.views.shared import AIView
from perpetua.api.responses import envelope
from perpetua.api.schema import error_response


class TranscribeView(AIView):
    @extend_schema(
        operation_id="ai_transcribe",
        summary="Transcribe a recording by URL (Pro, 5 credits per started minute)",
        request=TranscribeRequestSerializer,
        responses={
            200: TranscribeEnvelopeSerializer,
            400: error_response("VALIDATION_ERROR: bad body, no Idempotency-Key, or a host not allowed."),
            402: error_response("INSUFFICIENT_CREDITS: not enough credits for the declared duration."),
            403: error_response("TIER_REQUIRED: transcription is a Pro feature."),
            503: error_response(
                "TRANSCRIPTION_SERVICE_UNAVAILABLE: Deepgram unconfigured, failing or slower than "
                "AI_TIMEOUT_SECONDS; nothing charged."
            ),
        },
    )
    async def post(self, request: Request) -> Any:
        serializer = TranscribeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = await voice_services.transcribe_url(user=request.user, **serializer.validated_data)
        return envelope(transcribe_data(result))
