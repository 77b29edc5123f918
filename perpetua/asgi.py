"""ASGI entry point served by daphne: HTTP through Django, WebSocket through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perpetua.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from ai.routing import websocket_urlpatterns  # noqa: E402
from perpetua.asgi_http import DjangoHTTPApp  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Admin and Swagger UI assets (/static/) are served by the same process.
        "http": DjangoHTTPApp(),
        # The SPA's origins (CORS_ALLOWED_ORIGINS) and the API's own hosts may open sockets.
        "websocket": OriginValidator(
            URLRouter(websocket_urlpatterns), [*settings.CORS_ALLOWED_ORIGINS, *settings.ALLOWED_HOSTS]
        ),
    }
)
