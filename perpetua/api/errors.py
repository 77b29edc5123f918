"""The contract's error shape (CONTRACT §0), produced in exactly one place.

Domain code raises the exceptions below; `exception_handler` (DRF) and
`ApiErrorMiddleware` (everything outside DRF: unknown URLs, 413, crashes) render
`{"error": {"code", "message", "details"?, "request_id", ...extra}}`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

from perpetua.api.request_id import get_request_id

logger = logging.getLogger("perpetua.errors")


class ApiError(drf_exceptions.APIException):
    """Base of every domain error: an HTTP status, a contract code and a message."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "VALIDATION_ERROR"
    default_message = "Invalid request."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, str]] | None = None,
        code: str | None = None,
        **extra: Any,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        if code:
            self.code = code
        self.extra = extra
        super().__init__(self.message)


class ValidationFailed(ApiError):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "Invalid input."


def field_error(field: str, message: str, summary: str | None = None) -> ValidationFailed:
    """A 400 naming one invalid field (`details: [{field, message}]`)."""
    return ValidationFailed(summary, details=[{"field": field, "message": message}])


def unknown_fields_error(names: Iterable[str]) -> ValidationFailed:
    """A 400 listing fields a write does not accept (CONTRACT §0: unknown fields are a 400)."""
    return ValidationFailed(details=[{"field": str(name), "message": "Unknown field."} for name in names])


class Unauthorized(ApiError):
    status_code = 401
    code = "UNAUTHORIZED"
    default_message = "Authentication credentials were not provided or are invalid."


class TokenExpired(ApiError):
    status_code = 401
    code = "TOKEN_EXPIRED"
    default_message = "Access token expired."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, refresh_required=True)


class InvalidRefreshToken(ApiError):
    status_code = 401
    code = "INVALID_REFRESH_TOKEN"
    default_message = "Refresh token is invalid, expired, revoked or reused."


class InsufficientCredits(ApiError):
    status_code = 402
    code = "INSUFFICIENT_CREDITS"
    default_message = "Not enough AI credits."


class Forbidden(ApiError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "This resource belongs to another user."


class TierRequired(ApiError):
    status_code = 403
    code = "TIER_REQUIRED"
    default_message = "This feature requires Perpetua Pro."


class NotFound(ApiError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found."


class TaskNotFound(NotFound):
    code = "TASK_NOT_FOUND"
    default_message = "Task not found."


class Conflict(ApiError):
    status_code = 409
    code = "CONFLICT"
    default_message = "Conflict."


class VersionConflict(Conflict):
    default_message = "The resource was changed by another request; reload and retry."


class LimitExceeded(ApiError):
    status_code = 409
    code = "LIMIT_EXCEEDED"
    default_message = "Limit reached."


class Archived(ApiError):
    status_code = 409
    code = "ARCHIVED"
    default_message = "Archived tasks cannot be changed."


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body is too large."


class RateLimitExceeded(ApiError):
    status_code = 429
    code = "RATE_LIMIT_EXCEEDED"
    default_message = "Too many requests."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class AITaskLimitReached(ApiError):
    status_code = 429
    code = "AI_TASK_LIMIT_REACHED"
    default_message = "Too many AI requests for this task in this session."


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "Service unavailable."


class AIServiceUnavailable(ServiceUnavailable):
    code = "AI_SERVICE_UNAVAILABLE"
    default_message = "The AI service is unavailable."


class TranscriptionServiceUnavailable(ServiceUnavailable):
    code = "TRANSCRIPTION_SERVICE_UNAVAILABLE"
    default_message = "The transcription service is unavailable."


# --- rendering -----------------------------------------------------------------------


def error_body(
    *,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    error.update(extra)
    error["request_id"] = get_request_id()
    return {"error": error}


def _flatten_details(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested ValidationError detail → the contract's flat `details` list."""
    out: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            name = f"{prefix}.{field}" if prefix and field else (prefix or field)
            out.extend(_flatten_details(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.extend({"field": prefix or "non_field_errors", "message": str(item)} for item in detail)
        else:
            for index, item in enumerate(detail):
                out.extend(_flatten_details(item, f"{prefix}[{index}]" if prefix else f"[{index}]"))
    else:
        out.append({"field": prefix or "non_field_errors", "message": str(detail)})
    return out


_DRF_CODES: dict[type[drf_exceptions.APIException], tuple[str, str | None]] = {
    drf_exceptions.NotAuthenticated: ("UNAUTHORIZED", None),
    drf_exceptions.AuthenticationFailed: ("UNAUTHORIZED", None),
    drf_exceptions.PermissionDenied: ("FORBIDDEN", None),
    drf_exceptions.NotFound: ("NOT_FOUND", "Not found."),
    drf_exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", None),
    drf_exceptions.NotAcceptable: ("NOT_ACCEPTABLE", None),
    drf_exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", None),
    drf_exceptions.ParseError: ("VALIDATION_ERROR", None),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error raised inside a view gets the contract shape."""
    from django_ratelimit.exceptions import Ratelimited

    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, Ratelimited):
        exc = RateLimitExceeded(retry_after=getattr(exc, "retry_after", 60))
    elif isinstance(exc, PermissionDenied):
        exc = Forbidden()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, drf_exceptions.Throttled):
        exc = RateLimitExceeded(retry_after=int(exc.wait or 60))

    if isinstance(exc, ApiError):
        body = error_body(code=exc.code, message=exc.message, details=exc.details, **exc.extra)
        if isinstance(exc, RateLimitExceeded):
            headers["Retry-After"] = str(exc.retry_after)
        status_code = exc.status_code
    elif isinstance(exc, drf_exceptions.ValidationError):
        status_code = 400
        body = error_body(code="VALIDATION_ERROR", message="Invalid input.", details=_flatten_details(exc.detail))
    elif isinstance(exc, drf_exceptions.APIException):
        code, message = "ERROR", None
        for klass, (mapped_code, mapped_message) in _DRF_CODES.items():
            if isinstance(exc, klass):
                code, message = mapped_code, mapped_message
                break
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        status_code = exc.status_code
        body = error_body(code=code, message=message or detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    else:
        return None  # unhandled: ApiErrorMiddleware logs it and answers INTERNAL_ERROR

    auth_header = getattr(context.get("view"), "get_authenticate_header", None)
    if status_code == 401 and auth_header and "WWW-Authenticate" not in headers:
        value = auth_header(context["request"])
        if value:
            headers["WWW-Authenticate"] = value
    return Response(body, status=status_code, headers=headers)


def json_error(status_code: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse(error_body(code=code, message=message, **extra), status=status_code)


def _declared_body_too_large(request: Any) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_REQUEST_BODY_BYTES


class ApiErrorMiddleware:
    """Errors raised outside DRF views: unknown `/api/` URLs, 405/413 from Django, crashes.

    Django's own 404/500 pages are HTML; for the API they become the contract shape.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if request.path.startswith("/api/") and _declared_body_too_large(request):
            # DRF parses the request stream directly, which bypasses Django's own
            # DATA_UPLOAD_MAX_MEMORY_SIZE check: refuse oversized bodies up front.
            return json_error(413, "PAYLOAD_TOO_LARGE", "Request body is too large.")
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in (404, 405, 413, 500)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 500: "INTERNAL_ERROR"}
            message = {
                404: "Not found.",
                405: "Method not allowed.",
                413: "Request body is too large.",
                500: "Internal server error.",
            }
            new = json_error(response.status_code, code[response.status_code], message[response.status_code])
            for header in ("X-Request-ID", "Allow"):
                if response.has_header(header):
                    new[header] = response[header]
            return new
        return response

    def process_exception(self, request: Any, exception: Exception) -> JsonResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, Http404):
            return json_error(404, "NOT_FOUND", "Not found.")
        if isinstance(exception, RequestDataTooBig):
            return json_error(413, "PAYLOAD_TOO_LARGE", "Request body is too large.")
        if isinstance(exception, PermissionDenied):
            return json_error(403, "FORBIDDEN", "Forbidden.")
        logger.exception("unhandled exception on %s %s", request.method, request.path)
        return json_error(500, "INTERNAL_ERROR", "Internal server error.")


# --- Django's error handlers (perpetua/urls.py): errors raised in middleware ------------------


def _for_api(request: Any, status_code: int, code: str, message: str, default: Any) -> Any:
    return json_error(status_code, code, message) if request.path.startswith("/api/") else default


def bad_request(request: Any, exception: Exception) -> Any:
    from django.views import defaults

    return _for_api(request, 400, "VALIDATION_ERROR", "Bad request.", defaults.bad_request(request, exception))


def permission_denied(request: Any, exception: Exception) -> Any:
    from django.views import defaults

    return _for_api(request, 403, "FORBIDDEN", "Forbidden.", defaults.permission_denied(request, exception))


def page_not_found(request: Any, exception: Exception) -> Any:
    from django.views import defaults

    return _for_api(request, 404, "NOT_FOUND", "Not found.", defaults.page_not_found(request, exception))


def server_error(request: Any) -> Any:
    from django.views import defaults

    if request.path.startswith("/api/"):
        return json_error(500, "INTERNAL_ERROR", "Internal server error.")
    return defaults.server_error(request)
