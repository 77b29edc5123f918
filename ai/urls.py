"""Routes of the ai app under /api/v1/ (CONTRACT §8)."""

from django.urls import path

from ai.views.voice import TranscribeView

urlpatterns: list = [
    path("ai/transcribe", TranscribeView.as_view(), name="ai-transcribe"),
]
