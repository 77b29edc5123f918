"""`POST /notes/{id}/convert` (CONTRACT §7): an AI suggestion, served by the ai app so the
arrow stays ai → notes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from ai.serializers.notes import NoteConvertEnvelopeSerializer, NoteConvertRequestSerializer
from ai.services.notes import ai_note_convert
from ai.views.shared import AI_ERRORS, AIView
from perpetua.api.responses import envelope


class NoteConvertView(AIView):
    @extend_schema(
        operation_id="notes_convert", summary="Suggest a task for a note (accept it with /ai/confirm-action)",
        request=NoteConvertRequestSerializer, responses={200: NoteConvertEnvelopeSerializer, **AI_ERRORS},
    )  # fmt: skip
    async def post(self, request: Request, pk: Any) -> Any:
        NoteConvertRequestSerializer(data=request.data).is_valid(raise_exception=True)
        result = await ai_note_convert(user=request.user, note_id=pk)
        return envelope(
            {
                "suggested_task": result.suggested_task,
                "credits_used": result.credits_used,
                "credits_remaining": result.credits_remaining,
            }
        )
