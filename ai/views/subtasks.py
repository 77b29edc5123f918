"""`POST /ai/generate-subtasks` (CONTRACT §8)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from ai.serializers.subtasks import GenerateSubtasksEnvelopeSerializer, GenerateSubtasksRequestSerializer
from ai.services.subtasks import ai_generate_subtasks
from ai.views.shared import AI_ERRORS, NAMED_ROW_ERROR, TASK_LIMIT_ERROR, AIView, session_id
from perpetua.api.responses import envelope


class GenerateSubtasksView(AIView):
    @extend_schema(
        operation_id="ai_generate_subtasks", summary="Suggest subtask titles for a task (capped at its free room)",
        request=GenerateSubtasksRequestSerializer,
        responses={200: GenerateSubtasksEnvelopeSerializer, **AI_ERRORS, **NAMED_ROW_ERROR, **TASK_LIMIT_ERROR},
    )  # fmt: skip
    async def post(self, request: Request) -> Any:
        serializer = GenerateSubtasksRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = await ai_generate_subtasks(
            user=request.user, sid=session_id(request), task_id=serializer.validated_data["task_id"]
        )
        return envelope(
            {
                "suggested_subtasks": [{"title": title} for title in result.titles],
                "credits_used": result.credits_used,
                "credits_remaining": result.credits_remaining,
                "ai_request_warning": result.ai_request_warning,
            }
        )
