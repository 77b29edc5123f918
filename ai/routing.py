"""WebSocket routes (the voice relay arrives with the AI issue)."""

websocket_urlpatterns: list = []
