"""The base of async API views: DRF's conventions (authentication, permissions, throttles,
idempotency, the error shape, the schema) around an `async def` handler.

DRF's `APIView.dispatch` is synchronous. Here the same steps run with the handler
awaited on the event loop: `initial()` (token → user query, throttle counters, the
idempotency claim), exception handling and `finalize_response()` (the idempotency
outcome) are synchronous database work and run off the loop, each through
`release_db`, which hands the database connection back to the pool at once, so a
request waiting on a slow provider holds neither a thread nor a connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.db import connections
from django.http import HttpRequest

from perpetua.api.views import ApiView

T = TypeVar("T")


def _released(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    try:
        return fn(*args, **kwargs)
    finally:
        for connection in connections.all(initialized_only=True):
            # Inside a transaction (the test suite's) the connection must stay.
            if not connection.in_atomic_block:
                connection.close()  # with Django's pool: back to the pool


async def release_db(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run sync (database) work on this request's thread, then give its connection back."""
    return await sync_to_async(_released, thread_sensitive=True)(fn, args, kwargs)


class AsyncApiView(ApiView):
    """An `ApiView` whose handlers are `async def` (served by Django's ASGI handler)."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.args = args
        self.kwargs = kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await release_db(self.initial, request, *args, **kwargs)
            method = request.method.lower()
            handler = getattr(self, method, None) if method in self.http_method_names else None
            handler = handler or self.http_method_not_allowed
            if iscoroutinefunction(handler):
                response = await handler(request, *args, **kwargs)
            else:
                response = await release_db(handler, request, *args, **kwargs)
        except Exception as exc:
            response = await release_db(self.handle_exception, exc)
        self.response = await release_db(self.finalize_response, request, response, *args, **kwargs)
        return self.response
