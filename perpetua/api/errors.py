"""Formerly the API's errors; now only a TEMPORARY re-export, deleted at merge.

Exception classes (and `field_error`, `unknown_fields_error`) live in
`perpetua.api.exceptions`; the DRF handler, middleware and Django error views in
`perpetua.api.handlers`. Import from those.
"""

# TEMPORARY re-export for branches in flight (tasks/, recovery/, accounts/services.py); removed at merge
from perpetua.api.exceptions import (
    AccessDenied,
    AIServiceUnavailable,
    AITaskLimitReached,
    ApiError,
    Archived,
    BadRequest,
    Conflict,
    Forbidden,
    InsufficientCredits,
    InternalError,
    InvalidRefreshToken,
    LimitExceeded,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    RateLimitExceeded,
    ServiceUnavailable,
    TaskNotFound,
    TierRequired,
    TokenExpired,
    TranscriptionServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    VersionConflict,
    field_error,
    unknown_fields_error,
)

__all__ = [
    "AIServiceUnavailable",
    "AITaskLimitReached",
    "AccessDenied",
    "ApiError",
    "Archived",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InsufficientCredits",
    "InternalError",
    "InvalidRefreshToken",
    "LimitExceeded",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "PayloadTooLarge",
    "RateLimitExceeded",
    "ServiceUnavailable",
    "TaskNotFound",
    "TierRequired",
    "TokenExpired",
    "TranscriptionServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "VersionConflict",
    "field_error",
    "unknown_fields_error",
]
