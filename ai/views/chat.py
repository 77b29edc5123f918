"""`POST /ai/chat` and `POST /ai/chat/stream` (CONTRACT §8)."""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from ai.serializers.chat import ChatEnvelopeSerializer, ChatRequestSerializer
from ai.services.chat import ChatRequest, ai_chat, ai_chat_stream_open
from ai.views.shared import AI_ERRORS, NAMED_ROW_ERROR, TASK_LIMIT_ERROR, AIView, named_task_id, session_id
from perpetua.api.responses import envelope

STREAM_DESCRIPTION = (
    'Server-sent events: `data: {"text": "..."}` as the model writes, then `data: {"done": true, '
    '"suggested_actions": [...], "credits_used", "credits_remaining", "ai_request_warning"}`, then '
    "`data: [DONE]`. A provider failure after the stream started ends it with `event: error` (the error "
    "object) and refunds the credit."
)
# One server-sent event as a client's parser yields it (the schema of each event, OpenAPI 3.2 style).
STREAM_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string", "enum": ["message", "error"], "description": "`error` ends a failed stream."},
        "data": {"type": "string", "description": "JSON text, or `[DONE]` last."},
    },
}


def _chat_request(request: Request) -> ChatRequest:
    serializer = ChatRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    context = data.get("context") or {}
    return ChatRequest(
        user=request.user,
        sid=session_id(request),
        message=data["message"],
        include_tasks=context.get("include_tasks", False),
        task_limit=context.get("task_limit", 10),
        task_id=named_task_id(request, data.get("task_id")),
    )


class ChatView(AIView):
    @extend_schema(
        operation_id="ai_chat", summary="Ask the assistant; suggestions come back, nothing is changed",
        request=ChatRequestSerializer,
        responses={200: ChatEnvelopeSerializer, **AI_ERRORS, **NAMED_ROW_ERROR, **TASK_LIMIT_ERROR},
    )  # fmt: skip
    async def post(self, request: Request) -> Any:
        answer = await ai_chat(_chat_request(request))
        return envelope(
            {
                "response": answer.response,
                "suggested_actions": answer.suggested_actions,
                "credits_used": answer.credits_used,
                "credits_remaining": answer.credits_remaining,
                "ai_request_warning": answer.ai_request_warning,
            }
        )


class ChatStreamView(AIView):
    @extend_schema(
        operation_id="ai_chat_stream", summary="The chat answer as server-sent events",
        request=ChatRequestSerializer,
        responses={
            (200, "text/event-stream"): OpenApiResponse(STREAM_EVENT, description=STREAM_DESCRIPTION),
            **AI_ERRORS, **NAMED_ROW_ERROR, **TASK_LIMIT_ERROR,
        },
    )  # fmt: skip
    async def post(self, request: Request) -> Any:
        stream = await ai_chat_stream_open(_chat_request(request))
        response = StreamingHttpResponse(stream.events(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache, no-store"
        response["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
        return response
