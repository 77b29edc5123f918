"""What services raise: one class per contract error (CONTRACT §0, error codes).

Each class carries its HTTP status, its contract code and its default message, and this
is the only place any of the three is written down. Rendering them into the contract's
error shape is `perpetua.api.handlers`' job; nothing here knows about responses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions as drf_exceptions


class ApiError(drf_exceptions.APIException):
    """Base of every contract error; subclasses set `status_code`, `code`, `default_message`.

    A subclass of DRF's APIException so DRF rolls back the atomic request before the
    exception handler renders it.
    """

    code: str
    default_message: str

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

    retry_after: int | None = None  # seconds; set by errors that tell the client when to retry

    @property
    def headers(self) -> dict[str, str]:
        """Response headers this error implies: `Retry-After` when the error knows it."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class ValidationFailed(ApiError):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "Invalid input."


class BadRequest(ValidationFailed):
    """Django refused the request itself (SuspiciousOperation, e.g. an unknown Host)."""

    default_message = "Bad request."


class TooManyFields(ValidationFailed):
    """More query-string or form parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS."""

    default_message = "Too many query or form parameters."


class TooManyFiles(ValidationFailed):
    """More uploaded files than DATA_UPLOAD_MAX_NUMBER_FILES."""

    default_message = "Too many uploaded files."


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
    """The resource exists but belongs to another user (CONTRACT §0)."""

    status_code = 403
    code = "FORBIDDEN"
    default_message = "This resource belongs to another user."


class AccessDenied(Forbidden):
    """Django's PermissionDenied: refused without naming an owner."""

    default_message = "Forbidden."


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


class MethodNotAllowed(ApiError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    default_message = "Method not allowed."


class NotAcceptable(ApiError):
    status_code = 406
    code = "NOT_ACCEPTABLE"
    default_message = "Could not satisfy the request Accept header."


class Conflict(ApiError):
    status_code = 409
    code = "CONFLICT"
    default_message = "Conflict."


class KeyInFlight(Conflict):
    """The Idempotency-Key's first request has not finished, or died without a word (its
    database went away): `Retry-After` says when the key is released at the latest."""

    default_message = "A request with this Idempotency-Key is still being processed."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


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


class RequestTimeout(ApiError):
    """The server's head/body deadline passed before the request arrived (perpetua/server.py)."""

    status_code = 408
    code = "REQUEST_TIMEOUT"
    default_message = "The request was not received in time."


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body is too large."


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Unsupported media type in request."


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


class InternalError(ApiError):
    """An unexpected failure; the body never carries internals (CONTRACT §0)."""

    status_code = 500
    code = "INTERNAL_ERROR"
    default_message = "Internal server error."


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "Service unavailable."


class DatabaseUnavailable(ServiceUnavailable):
    """PostgreSQL refused, dropped or did not hand out a connection in time (it restarts,
    fails over, or every pooled connection is busy): nothing was written, retry shortly."""

    default_message = "The database is unavailable; retry shortly."


class AIServiceUnavailable(ServiceUnavailable):
    code = "AI_SERVICE_UNAVAILABLE"
    default_message = "The AI service is unavailable."


class TranscriptionServiceUnavailable(ServiceUnavailable):
    code = "TRANSCRIPTION_SERVICE_UNAVAILABLE"
    default_message = "The transcription service is unavailable."
