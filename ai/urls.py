from django.urls import path

from ai.views.actions import ConfirmActionView
from ai.views.chat import ChatStreamView, ChatView
from ai.views.notes import NoteConvertView
from ai.views.subtasks import GenerateSubtasksView
from ai.views.voice import TranscribeView

urlpatterns = [
    path("ai/chat", ChatView.as_view(), name="ai-chat"),
    path("ai/chat/stream", ChatStreamView.as_view(), name="ai-chat-stream"),
    path("ai/generate-subtasks", GenerateSubtasksView.as_view(), name="ai-generate-subtasks"),
    path("ai/confirm-action", ConfirmActionView.as_view(), name="ai-confirm-action"),
    path("notes/<uuid:pk>/convert", NoteConvertView.as_view(), name="note-convert"),
    path("ai/transcribe", TranscribeView.as_view(), name="ai-transcribe"),
]
