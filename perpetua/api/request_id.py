"""`X-Request-ID` on every response, echoed when valid, and available to every log line.

A generated id is a canonical dashed UUID (CONTRACT §0): activity entries carry it and
the SPA validates it as a UUID."""

from __future__ import annotations

import contextvars
import re
import uuid
from typing import Any

from perpetua.api.hybrid import HybridMiddleware

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def request_id_for(incoming: str | None) -> str:
    """The client's `X-Request-ID` when it is a safe token, else a new id."""
    return incoming if incoming and _VALID.match(incoming) else str(uuid.uuid4())


class RequestIdMiddleware(HybridMiddleware):
    def _start(self, request: Any) -> str:
        # The server layer (perpetua/asgi_http.py) may already have chosen this request's id.
        request_id = get_request_id() or request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        return request_id

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self._acall(request)
        request_id = self._start(request)
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response

    async def _acall(self, request: Any) -> Any:
        request_id = self._start(request)
        token = _request_id.set(request_id)
        try:
            response = await self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
