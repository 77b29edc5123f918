"""WebSocket routes, mounted by `perpetua.asgi` behind Channels' OriginValidator (CONTRACT §9)."""

from django.urls import path

from ai.consumers import VoiceTranscribeConsumer

websocket_urlpatterns: list = [
    path("api/v1/ws/voice/transcribe", VoiceTranscribeConsumer.as_asgi()),
]
