"""The production server: uvicorn (uvloop event loop, httptools parser) serving `perpetua.asgi`.

Chosen by measurement (README, Production): uvicorn with the thread-pool bridge of
`perpetua/asgi_http.py` was the fastest of five servers at every load. One ASGI
application serves HTTP and the Channels WebSocket routes (`/ws/`, uvicorn's sans-I/O
`websockets` protocol). Run it with `python -m perpetua.server [--host H] [--port P]
[--workers N]` (workers default to `WEB_CONCURRENCY`, else 1).

uvicorn's httptools protocol bounds neither the request head (a 1 MB header or 5,000
headers are accepted) nor the time a client may take to send it (a connection trickling
one byte every few seconds stays open forever), and it answers malformed requests and
overload in plain text. `Protocol` below adds those limits and deadlines, and answers
every refusal in the contract's error shape with a request id:

- request line + headers over `HTTP_MAX_HEADER_BYTES`, or more than `HTTP_MAX_HEADERS`
  headers, or a malformed request: 400 `VALIDATION_ERROR`;
- a head not complete `HTTP_HEAD_TIMEOUT_SECONDS` after its first byte, or a body not
  complete `HTTP_BODY_TIMEOUT_SECONDS` after its head: 408 `REQUEST_TIMEOUT` (a
  connection that never sends a byte is closed silently after the same head deadline);
- more than `HTTP_LIMIT_CONCURRENCY` connections or requests in flight: 503
  `SERVICE_UNAVAILABLE`.

Every refusal closes the connection. Bodies are limited by the application
(`MAX_REQUEST_BODY_BYTES`, see `perpetua/asgi_http.py`); uvicorn never reads more than
64 KiB ahead of it.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "perpetua.settings")

import argparse
import asyncio
import json
from typing import Any

import django
import uvicorn
from django.conf import settings
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from perpetua.api.exceptions import ApiError, RequestTimeout, ServiceUnavailable, ValidationFailed
from perpetua.api.handlers import error_body
from perpetua.api.request_id import request_id_for, reset_request_id, set_request_id

APP = "perpetua.asgi:application"


class _Refused(Exception):
    """Raised inside a parser callback: httptools stops parsing, uvicorn calls `send_400_response`."""


class Protocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits and deadlines on the request head and body."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = settings.HTTP_MAX_HEADER_BYTES
        self.max_headers = settings.HTTP_MAX_HEADERS
        self.head_timeout = settings.HTTP_HEAD_TIMEOUT_SECONDS
        self.body_timeout = settings.HTTP_BODY_TIMEOUT_SECONDS
        self.concurrency = settings.HTTP_LIMIT_CONCURRENCY
        self._head_bytes = 0
        self._head_count = 0
        self._in_request = False
        self._client_request_id: str | None = None
        self._refusal: ApiError = ValidationFailed("Malformed HTTP request.")
        self._deadline: asyncio.TimerHandle | None = None

    # --- deadlines -------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._in_request or (self.cycle is not None and self.cycle.response_started):
            self.transport.close()  # idle, or the application already answers: nothing to say
            return
        self._send_error(RequestTimeout())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # --- parser callbacks --------------------------------------------------------------

    def _refuse(self, error: ApiError) -> None:
        self._refusal = error
        raise _Refused(error.message)

    def _count(self, size: int, headers: int = 0) -> None:
        self._head_bytes += size
        self._head_count += headers
        if self._head_bytes > self.max_head_bytes:
            self._refuse(ValidationFailed("Request line or headers too large."))
        if self._head_count > self.max_headers:
            self._refuse(ValidationFailed("Too many request headers."))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = self._head_count = 0
        self._in_request = True
        self._client_request_id = None
        self._arm(self.head_timeout)

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, headers=1)
        if name.lower() == b"x-request-id":
            self._client_request_id = value.decode("latin1")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if len(self.connections) > self.concurrency or len(self.tasks) >= self.concurrency:
            self._refuse(ServiceUnavailable("The server is busy; retry shortly."))
        super().on_headers_complete()
        self._arm(self.body_timeout)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the connection now belongs to the WebSocket protocol (its own pings)
        super().handle_websocket_upgrade()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_request = False
        super().on_message_complete()

    # --- answers -------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn's hook for every request the parser refused: answered in the contract's shape."""
        self._send_error(self._refusal)

    def _send_error(self, error: ApiError) -> None:
        self._disarm()
        token = set_request_id(request_id_for(self._client_request_id))
        try:
            body = error_body(error)
        finally:
            reset_request_id(token)
        content = json.dumps(body).encode()
        head = [STATUS_LINE[error.status_code]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(content),
            b"x-request-id: " + body["error"]["request_id"].encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + content)
        self.transport.close()


def options(*, app: Any = APP, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> dict[str, Any]:
    """The one uvicorn configuration, used by `main`, the benchmark and the tests that start a real server."""
    return {
        "app": app,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "uvloop",
        "http": Protocol,
        "ws": "websockets-sansio",
        "ws_max_size": settings.MAX_REQUEST_BODY_BYTES,
        "lifespan": "off",  # Channels' router speaks HTTP and WebSocket only
        "proxy_headers": False,  # client IPs behind proxies are perpetua.api.ratelimit's business
        "server_header": False,  # no banner naming the software
        "access_log": False,
        "log_config": None,  # Django's LOGGING (JSON lines with request ids) applies to uvicorn too
        "timeout_keep_alive": settings.HTTP_KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": settings.HTTP_GRACEFUL_SHUTDOWN_SECONDS,
        "backlog": 2048,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve Perpetua (HTTP and WebSocket) with uvicorn.")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 — a container's server listens on all interfaces
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    args = parser.parse_args(argv)
    django.setup(set_prefix=False)  # logging configured before uvicorn's first line
    uvicorn.run(**options(host=args.host, port=args.port, workers=args.workers))


if __name__ == "__main__":
    main()
