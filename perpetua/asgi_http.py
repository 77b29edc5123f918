"""HTTP side of the ASGI application: Django's WSGI handler on a persistent thread pool.

Why not Django's ASGIHandler: every view here is synchronous (DRF), and ASGIHandler
wraps each request in a ThreadSensitiveContext, which starts and joins a new thread
per request and hops between threads several times (signals, middleware, close).
Measured, that costs more than the request itself (README, Performance). Here each
request makes one hop: the body is read on the event loop, then the whole Django
request runs on one thread of a pool created at start-up.

What the bridge guarantees:

- **One request, one thread.** `request_started`, middleware, view, the iteration of a
  streaming response and its `close()` (`request_finished`, database connection back to
  the pool) all run on the thread that began the request.
- **Streams do not starve requests.** At most `HTTP_THREADS` requests run Django at once
  (the others wait on the event loop). A streaming response (server-sent events, static
  files) gives its slot back once its headers are out and keeps its own thread, for up to
  `HTTP_MAX_STREAMS` streams; past that a stream keeps its slot.
- **A gone client stops its stream.** While streaming, the loop listens for
  `http.disconnect`; the thread stops pulling from the view's iterator at the next chunk
  and calls its `close()`, so the view can release what it holds.
- **Bodies are bounded before they are read.** A declared `Content-Length` over
  `MAX_REQUEST_BODY_BYTES` is refused without reading a byte; a chunked body stops being
  read at the limit. Both get their 413 from Django's middleware (request id, CORS and
  rate-limit headers) and `Connection: close`, since the rest of the body stays unread.
  The body is read as the server hands it over (uvicorn pauses the socket at 64 KiB).
- **Crashes answer the contract.** An exception escaping Django is logged with the
  request id and answered by Django's 500 handler (`perpetua.urls.handler500`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import get_resolver

from perpetua.api.request_id import get_request_id, request_id_for, reset_request_id, set_request_id

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Buffered = tuple[int, Headers, bytes]

logger = logging.getLogger("perpetua.http")


class _Response:
    """What `start_response` was given, filled in on the worker thread."""

    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 500
        self.headers: Headers = []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status = int(status.split(" ", 1)[0])
        self.headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers]


class _Stream:
    """One streaming response's line from its thread to the event loop."""

    __slots__ = ("gone", "loop", "send")

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Send) -> None:
        self.loop = loop
        self.send = send
        self.gone = threading.Event()  # the client left (or the server cancelled the request)

    def emit(self, message: Message) -> bool:
        """Send one message from the worker thread, waiting until the server took it."""
        if self.gone.is_set():
            return False
        try:
            asyncio.run_coroutine_threadsafe(self.send(message), self.loop).result()
        except Exception:  # the server refuses to send: the connection is gone
            self.gone.set()
        return not self.gone.is_set()


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


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
        if "_" in name or name == "content-length":
            # As Django's handlers: `X_Forwarded_For` must not pass for `X-Forwarded-For`.
            # The body is complete: its real length is set above.
            continue
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin1")
        if key in environ:
            # Split Cookie headers (HTTP/2 sends one per cookie) are one list of pairs.
            value = f"{environ[key]}{'; ' if key == 'HTTP_COOKIE' else ','}{value}"
        environ[key] = value
    return environ


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


async def _watch_disconnect(receive: Receive, gone: threading.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


class DjangoHTTPApp:
    def __init__(self) -> None:
        self.wsgi = StaticFilesHandler(WSGIHandler())
        self.threads = settings.HTTP_THREADS
        self.max_streams = settings.HTTP_MAX_STREAMS
        self.max_body = settings.MAX_REQUEST_BODY_BYTES
        # Enough threads for every request slot plus every stream holding its own thread.
        self.executor = ThreadPoolExecutor(max_workers=self.threads + self.max_streams, thread_name_prefix="http")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(self.threads)
        self.streams = 0  # streams that gave their request slot back

    def _slots_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        if self._loop is not loop:  # a semaphore belongs to one event loop (tests run several)
            self._loop, self._slots, self.streams = loop, asyncio.Semaphore(self.threads), 0
        return self._slots

    async def _read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, bool]:
        """The whole body, or `(b"", True)` as soon as it is known to be over the limit."""
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body:
            return b"", True
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionAbortedError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:  # also chunked bodies, which declare no length
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body, too_large = await self._read_body(scope, receive)
        except ConnectionAbortedError:
            return
        environ = _environ(scope, body)
        if too_large:
            # Django answers the 413 (perpetua.api.handlers.ApiErrorMiddleware) with every
            # middleware applied: request id, CORS and rate-limit headers.
            environ["CONTENT_LENGTH"] = str(self.max_body + 1)
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        loop = asyncio.get_running_loop()
        slots = self._slots_for(loop)
        stream = _Stream(loop, send)
        streaming: asyncio.Future[None] = loop.create_future()
        await slots.acquire()
        holding, counted = True, False
        try:
            done = loop.run_in_executor(self.executor, self._handle, environ, request_id, streaming, stream)
            await asyncio.wait((streaming, done), return_when=asyncio.FIRST_COMPLETED)
            if not streaming.done():
                result = await done
                slots.release()
                holding = False
                if result is not None:
                    status, headers, content = result
                    if too_large:
                        headers = [*headers, (b"connection", b"close")]
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": content})
                return
            if self.streams < self.max_streams:
                self.streams += 1
                counted = True
                slots.release()
                holding = False
            watcher = loop.create_task(_watch_disconnect(receive, stream.gone))
            try:
                finished = await done
            finally:
                watcher.cancel()
            if finished and not stream.gone.is_set():
                await send({"type": "http.response.body", "body": b""})
        finally:
            stream.gone.set()  # a cancelled request stops its thread's stream too
            if holding:
                slots.release()
            if counted:
                self.streams -= 1

    def _handle(
        self, environ: dict[str, Any], request_id: str, streaming: asyncio.Future[None], stream: _Stream
    ) -> Buffered | bool | None:
        """The whole request on this thread: a buffered response, or the stream's outcome."""
        token = set_request_id(request_id)
        try:
            response = _Response()
            try:
                result = self.wsgi(environ, response.start_response)
                if not getattr(result, "streaming", False):
                    try:
                        content = b"".join(result)
                    finally:
                        _close(result)
                    return response.status, response.headers, content
            except Exception:
                return self._crashed(environ)
            return self._relay(result, response, streaming, stream)
        finally:
            reset_request_id(token)

    def _relay(
        self, result: Iterable[bytes], response: _Response, streaming: asyncio.Future[None], stream: _Stream
    ) -> bool | None:
        """Each chunk goes out as the view yields it; True when the stream ended normally."""
        try:
            if not stream.emit({"type": "http.response.start", "status": response.status, "headers": response.headers}):
                return None
            stream.loop.call_soon_threadsafe(lambda: streaming.done() or streaming.set_result(None))
            for chunk in result:
                if chunk and not stream.emit({"type": "http.response.body", "body": chunk, "more_body": True}):
                    return False
                if stream.gone.is_set():
                    return False
            return True
        except Exception:
            # Headers are out: the connection is cut so the client sees an incomplete body.
            logger.exception("streaming response failed")
            return False
        finally:
            try:
                _close(result)
            except Exception:
                logger.exception("closing a streaming response failed")

    def _crashed(self, environ: dict[str, Any]) -> Buffered:
        """An exception escaped Django: logged with the request id, answered by handler500."""
        logger.exception("unhandled exception serving %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
        request = HttpRequest()
        request.method, request.path, request.META = environ["REQUEST_METHOD"], environ["PATH_INFO"], environ
        response = get_resolver().resolve_error_handler(500)(request)
        response["X-Request-ID"] = get_request_id() or ""
        headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in response.items()]
        return response.status_code, headers, response.content
