"""The contract's error shape (CONTRACT §0), rendered in exactly one place.

Services raise the errors of `perpetua.api.exceptions`; this module turns them — and
the exceptions Django and DRF raise themselves — into
`{"error": {"code", "message", "details"?, "request_id", ...extra}}`:

- `exception_handler`: DRF's EXCEPTION_HANDLER, for everything raised inside a DRF view;
- `ApiErrorMiddleware`: everything outside DRF (unknown URLs, Django's 405/413, crashes);
- `bad_request` ... `server_error`: Django's error views, for errors raised in middleware.

Statuses, codes and messages are never written here: each comes from its exception class.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from perpetua.api.exceptions import (
    AccessDenied,
    ApiError,
    BadRequest,
    DatabaseUnavailable,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    TooManyFields,
    TooManyFiles,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from perpetua.api.hybrid import HybridMiddleware
from perpetua.api.request_id import get_request_id

logger = logging.getLogger("perpetua.errors")

API_PREFIX = "/api/"

# Django's own exceptions, wherever they are raised (first match wins: subclasses first).
# Without these, reading `request.GET` with 1001 parameters inside a view was a logged 500.
_DJANGO_EQUIVALENTS: dict[type[Exception], type[ApiError]] = {
    Http404: NotFound,
    PermissionDenied: AccessDenied,
    RequestDataTooBig: PayloadTooLarge,
    TooManyFieldsSent: TooManyFields,
    TooManyFilesSent: TooManyFiles,
    SuspiciousOperation: BadRequest,
    # The database went away (restart, failover, network) or the pool had no connection in
    # time: a 503 the client may retry, not a crash. Its transaction was rolled back.
    OperationalError: DatabaseUnavailable,
    InterfaceError: DatabaseUnavailable,
}

# DRF's exceptions keep their own message (e.g. `Method "PUT" not allowed.`) under our code.
_DRF_EQUIVALENTS: dict[type[drf_exceptions.APIException], type[ApiError]] = {
    drf_exceptions.NotAuthenticated: Unauthorized,
    drf_exceptions.AuthenticationFailed: Unauthorized,
    drf_exceptions.PermissionDenied: Forbidden,
    drf_exceptions.MethodNotAllowed: MethodNotAllowed,
    drf_exceptions.NotAcceptable: NotAcceptable,
    drf_exceptions.UnsupportedMediaType: UnsupportedMediaType,
    drf_exceptions.ParseError: ValidationFailed,
}

# Django's HTML answers that become the contract shape under /api/.
_HTML_ANSWERS: dict[int, type[ApiError]] = {
    error.status_code: error for error in (NotFound, MethodNotAllowed, PayloadTooLarge, InternalError)
}


def _bounded_text(text: Any) -> str:
    """A message or field name cut to ERROR_MESSAGE_MAX_LENGTH: client input never inflates a body."""
    text = str(text)
    limit = settings.ERROR_MESSAGE_MAX_LENGTH
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bounded_details(details: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """At most ERROR_MAX_DETAILS entries, each bounded; when more exist, the last entry says so.

    Consumes `details` lazily, so a 200 000-item validation failure costs 20 entries here.
    """
    limit = max(settings.ERROR_MAX_DETAILS, 1)
    out: list[dict[str, str]] = []
    for entry in details:
        if len(out) == limit:
            out[-1] = {"field": "non_field_errors", "message": f"More errors were left out (only {limit} are listed)."}
            break
        out.append({"field": _bounded_text(entry.get("field", "")), "message": _bounded_text(entry.get("message", ""))})
    return out


def error_body(error: ApiError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": _bounded_text(error.message)}
    if error.details:
        body["details"] = bounded_details(error.details)
    body.update(error.extra)
    body["request_id"] = get_request_id()
    return {"error": body}


def json_error(error: ApiError) -> JsonResponse:
    """The contract's error response for `error` outside DRF (middleware, Django views)."""
    response = JsonResponse(error_body(error), status=error.status_code)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _flatten_details(detail: Any, prefix: str = "") -> Iterator[dict[str, str]]:
    """DRF's nested ValidationError detail → the contract's flat `details` entries, lazily."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a ListField's item errors are keyed by index
                name = f"{prefix}[{key}]"
            else:
                field = key if key != "non_field_errors" else ""
                name = f"{prefix}.{field}" if prefix and field else (prefix or field)
            yield from _flatten_details(value, name)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            yield from ({"field": prefix or "non_field_errors", "message": str(item)} for item in detail)
        else:
            for index, item in enumerate(detail):
                yield from _flatten_details(item, f"{prefix}[{index}]" if prefix else f"[{index}]")
    else:
        yield {"field": prefix or "non_field_errors", "message": str(detail)}


def _django_equivalent(exc: Exception) -> ApiError | None:
    for django_class, error_class in _DJANGO_EQUIVALENTS.items():
        if isinstance(exc, django_class):
            if error_class is DatabaseUnavailable:
                logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            return error_class()
    return None


def _as_api_error(exc: Exception) -> ApiError | None:
    """The contract error `exc` stands for; None for an unexpected exception (a crash)."""
    if isinstance(exc, ApiError):
        return exc
    error = _django_equivalent(exc)
    if error is not None:
        return error
    if isinstance(exc, drf_exceptions.ValidationError):
        return ValidationFailed(details=bounded_details(_flatten_details(exc.detail)))
    if isinstance(exc, drf_exceptions.NotFound):
        return NotFound()  # DRF's detail (e.g. "Invalid page.") is not the contract's message
    if not isinstance(exc, drf_exceptions.APIException):
        return None
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    for drf_class, error_class in _DRF_EQUIVALENTS.items():
        if isinstance(exc, drf_class):
            return error_class(detail)
    error = ApiError(detail, code="ERROR")  # a DRF error the contract does not name
    error.status_code = exc.status_code
    return error


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error raised inside a view gets the contract shape."""
    error = _as_api_error(exc)
    if error is None:
        return None  # unhandled: ApiErrorMiddleware logs it and answers InternalError
    # DRF's own status wins: it turns a 401 into a 403 for views without an authenticate header.
    status_code = getattr(exc, "status_code", error.status_code)
    headers = dict(error.headers)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    authenticate_header = getattr(context.get("view"), "get_authenticate_header", None)
    if status_code == 401 and authenticate_header and "WWW-Authenticate" not in headers:
        value = authenticate_header(context["request"])
        if value:
            headers["WWW-Authenticate"] = value
    return Response(error_body(error), status=status_code, headers=headers)


def _declared_body_too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_REQUEST_BODY_BYTES


class ApiErrorMiddleware(HybridMiddleware):
    """Errors raised outside DRF views: unknown `/api/` URLs, 405/413 from Django, crashes.

    Django's own 404/500 pages are HTML; for the API they become the contract shape.
    """

    def _refused(self, request: HttpRequest) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX) and _declared_body_too_large(request):
            # DRF parses the request stream directly, which bypasses Django's own
            # DATA_UPLOAD_MAX_MEMORY_SIZE check: refuse oversized bodies up front.
            return json_error(PayloadTooLarge())
        return None

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        return self._refused(request) or self._finish(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        return self._refused(request) or self._finish(request, await self.get_response(request))

    def _finish(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        error_class = _HTML_ANSWERS.get(response.status_code)
        if (
            error_class is not None
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            new = json_error(error_class())
            for header in ("X-Request-ID", "Allow"):
                if response.has_header(header):
                    new[header] = response[header]
            return new
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        error = _django_equivalent(exception)
        if error is None:
            logger.exception("unhandled exception on %s %s", request.method, request.path)
            error = InternalError()
        return json_error(error)


# --- Django's error views (perpetua/urls.py): errors raised in middleware ------------------


def bad_request(request: HttpRequest, exception: SuspiciousOperation) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return json_error(_django_equivalent(exception) or BadRequest())
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: PermissionDenied) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return json_error(AccessDenied())
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return json_error(NotFound())
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return json_error(InternalError())
    return defaults.server_error(request)
