"""Middleware that runs in both of the server's request paths.

Most routes are sync Django on the WSGI bridge (`perpetua/asgi_http.py`); the AI routes
are async views under Django's own ASGI handler (`perpetua/asgi.py`). Django runs a
sync-only middleware under the async handler by putting it, and with it the rest of the
chain, on a thread that then waits for the whole view: a slow provider call would hold
a thread per request. Middleware built on this base declares both modes (Django's
`sync_capable`/`async_capable` protocol, as its own `MiddlewareMixin`) and gets an
awaitable `get_response` under the async handler.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class HybridMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
