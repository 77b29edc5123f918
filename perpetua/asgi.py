"""ASGI entry point: HTTP through Django, WebSocket through Channels.

HTTP has two paths. Every route but the AI ones runs sync Django on the thread-pool
bridge (`perpetua/asgi_http.py`). The AI routes (`/api/v1/ai/...` and
`/api/v1/notes/{id}/convert`) wait seconds on a provider, so they go to Django's own
ASGI handler, whose async views await the provider on the event loop: a slow provider
then holds no pool thread and no database connection, and the rest of the API keeps
answering (README, "AI": measured with 40 calls in flight).
"""

import os
import re
from importlib import import_module

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perpetua.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402

from ai.routing import websocket_urlpatterns  # noqa: E402
from perpetua.asgi_http import DjangoHTTPApp  # noqa: E402

ASYNC_PATHS = re.compile(r"^/api/v1/(?:ai/|notes/[^/]+/convert$)")


class BoundedBody:
    """Django's ASGI handler reads a whole body before any middleware runs; this reads it
    first, up to MAX_REQUEST_BODY_BYTES, as the bridge does. Over the limit (declared or
    chunked) nothing more is read and Django sees an empty body declared too large, so
    `ApiErrorMiddleware` answers the contract's 413."""

    def __init__(self, app: ASGIHandler) -> None:
        self.app = app
        self.max_body = settings.MAX_REQUEST_BODY_BYTES

    async def __call__(self, scope, receive, send) -> None:
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
        body, size, too_large = [], 0, declared is not None and declared.isdigit() and int(declared) > self.max_body
        while not too_large:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            too_large = size > self.max_body
            body.append(chunk)
            if not message.get("more_body", False):
                break
        content = b"" if too_large else b"".join(body)
        length = self.max_body + 1 if too_large else len(content)
        scope = {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": content, "more_body": False}
            return await receive()  # after the body: the client's disconnect

        await self.app(scope, replay, send)


class HTTPApp(DjangoHTTPApp):
    """The bridge, with the AI routes handed to Django's ASGI handler."""

    def __init__(self) -> None:
        super().__init__()
        self.async_django = BoundedBody(ASGIHandler())

    async def __call__(self, scope, receive, send) -> None:
        if ASYNC_PATHS.match(scope["path"]):
            await self.async_django(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


application = ProtocolTypeRouter(
    {
        # Admin and Swagger UI assets (/static/) are served by the same process.
        "http": HTTPApp(),
        # The SPA's origins (CORS_ALLOWED_ORIGINS) and the API's own hosts may open sockets.
        "websocket": OriginValidator(
            URLRouter(websocket_urlpatterns), [*settings.CORS_ALLOWED_ORIGINS, *settings.ALLOWED_HOSTS]
        ),
    }
)

# Import every view (the AI ones pull in openai and the Agents SDK) at start-up, not in the
# first request a process serves: that request would otherwise wait seconds on a loaded machine.
import_module(settings.ROOT_URLCONF)
