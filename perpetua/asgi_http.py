"""HTTP side of the ASGI application: Django's WSGI handler on a persistent thread pool.

Why not Django's ASGIHandler: every view here is synchronous (DRF), and ASGIHandler
wraps each request in a ThreadSensitiveContext, which starts and joins a new thread
per request and hops between threads several times (signals, middleware, close).
Measured under daphne, that costs more than the request itself. Here each request
makes exactly one hop: the body is read on the event loop, then the whole Django
request (signals, middleware, view) runs on a thread of a pool created once at
start-up, and a buffered response goes out as one ASGI message. Streaming responses
(server-sent events) are relayed chunk by chunk as the view yields them.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _BodyTooLarge(Exception):
    pass


class _Response:
    """What `start_response` was given, filled in on the worker thread."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    script_name = scope.get("root_path", "").encode("utf8").decode("latin1")
    path_info = scope["path"].encode("utf8").decode("latin1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 0),
        "REMOTE_ADDR": (scope.get("client") or ("", 0))[0],
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1")
        if name == "content-length":
            continue  # the body is complete: its real length is set above
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin1")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class DjangoHTTPApp:
    def __init__(self) -> None:
        self.wsgi = StaticFilesHandler(WSGIHandler())
        self.executor = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="http")
        self.max_body = settings.MAX_REQUEST_BODY_BYTES

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionAbortedError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        too_large = False
        try:
            body = await self._read_body(receive)
        except ConnectionAbortedError:
            return
        except _BodyTooLarge:  # also chunked bodies, which declare no length
            body, too_large = b"", True
        loop = asyncio.get_running_loop()
        response = _Response()
        environ = _environ(scope, body)
        if too_large:
            # Django answers the 413 (perpetua.api.handlers.ApiErrorMiddleware) with every
            # middleware applied: request id, CORS and rate-limit headers.
            environ["CONTENT_LENGTH"] = str(self.max_body + 1)

        def run() -> tuple[bytes | None, Iterable[bytes]]:
            result = self.wsgi(environ, response.start_response)
            if getattr(result, "streaming", False):
                return None, result
            try:
                return b"".join(result), ()
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()

        content, stream = await loop.run_in_executor(self.executor, run)
        await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
        if content is not None:
            await send({"type": "http.response.body", "body": content})
            return
        await self._relay_stream(loop, stream, send)

    async def _relay_stream(self, loop: asyncio.AbstractEventLoop, stream: Iterable[bytes], send: Send) -> None:
        """Each chunk goes out as soon as the view yields it (server-sent events)."""

        def pump() -> None:
            try:
                for chunk in stream:
                    if chunk:
                        asyncio.run_coroutine_threadsafe(
                            send({"type": "http.response.body", "body": chunk, "more_body": True}), loop
                        ).result()
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()

        try:
            await loop.run_in_executor(self.executor, pump)
        finally:
            await send({"type": "http.response.body", "body": b""})
