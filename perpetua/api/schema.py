"""OpenAPI 3 (drf-spectacular): the contract's error responses on every operation.

- `AutoSchema` (DEFAULT_SCHEMA_CLASS): adds the `Idempotency-Key` header parameter to
  unsafe methods (required where the view sets `idempotency_required`), marks
  `@deprecated` endpoints `deprecated: true`, closes the request bodies of strict
  serializers (`additionalProperties: false`), and notes which error statuses apply.
- `add_error_responses` (postprocessing hook): adds the `Error` schema and one reusable
  response per error status, then attaches to every operation the ones that apply:
  400 (body/query/header invalid), 401 (authenticated endpoints), 403 (endpoints
  requiring a user: ownership, tier), 404 (paths with an id), 409 (unsafe methods:
  version, limits, idempotency), 413 (request bodies), 429 (rate-limited endpoints),
  500 (all). A status an endpoint documents itself is left as it is.

The views serving it (`/api/v1/schema/`, `/api/v1/docs/`) live in perpetua.api.docs:
this module is DEFAULT_SCHEMA_CLASS and must not import drf-spectacular's views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from perpetua.api.exceptions import (
    Archived,
    Conflict,
    Forbidden,
    InternalError,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    RateLimitExceeded,
    TaskNotFound,
    TierRequired,
    TokenExpired,
    Unauthorized,
    ValidationFailed,
)
from perpetua.api.ratelimit import BucketRateLimit
from perpetua.api.serializers import StrictSerializerMixin

_PRIVATE_KEY = "x-perpetua-error-statuses"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string", "description": "Contract error code.", "example": ValidationFailed.code},
                "message": {"type": "string", "example": ValidationFailed.default_message},
                "details": {
                    "type": "array",
                    "description": "Field errors (validation only).",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
                "request_id": {"type": "string", "nullable": True, "description": "Echoes X-Request-ID."},
                "retry_after": {"type": "integer", "description": f"Seconds to wait ({RateLimitExceeded.code})."},
                "refresh_required": {"type": "boolean", "description": f"Present on {TokenExpired.code}."},
            },
            "additionalProperties": True,
        }
    },
}

# Component name and description per status; codes come from the exception classes.
_ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", f"{ValidationFailed.code}: the body, a query parameter or a header is invalid."),
    401: ("Unauthorized", f"{Unauthorized.code} / {TokenExpired.code}: missing, invalid or expired credentials."),
    403: ("Forbidden", f"{Forbidden.code} (another user's resource) or {TierRequired.code}."),
    404: ("NotFound", f"{NotFound.code} ({TaskNotFound.code} for a task)."),
    409: (
        "Conflict",
        f"{Conflict.code} (stale version, Idempotency-Key reused or in flight), {LimitExceeded.code}, {Archived.code}.",
    ),
    413: ("PayloadTooLarge", f"{PayloadTooLarge.code}: the body is over the configured maximum."),
    429: ("TooManyRequests", f"{RateLimitExceeded.code} (`retry_after` in the error, `Retry-After` header)."),
    500: ("InternalError", f"{InternalError.code}: unexpected failure, logged with the request id."),
}


def _is_rate_limited(view: Any) -> bool:
    return any(isinstance(t, type) and issubclass(t, BucketRateLimit) for t in getattr(view, "throttle_classes", []))


def infer_error_statuses(operation: dict[str, Any], *, path: str, method: str, rate_limited: bool = True) -> list[int]:
    method = method.upper()
    security = operation.get("security") or []
    authenticated = any(requirement for requirement in security)
    statuses = [500]
    if method in UNSAFE or operation.get("parameters") or operation.get("requestBody"):
        statuses.append(400)
    if authenticated:
        statuses.append(401)
        if {} not in security:
            statuses.append(403)
    if "{" in path:
        statuses.append(404)
    if method in UNSAFE:
        statuses.append(409)
    if operation.get("requestBody"):
        statuses.append(413)
    if rate_limited:
        statuses.append(429)
    return sorted(statuses)


class AutoSchema(SpectacularAutoSchema):
    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method in UNSAFE and hasattr(self.view, "idempotency_required"):
            required = bool(self.view.idempotency_required)
            parameters.append(
                OpenApiParameter(
                    name="Idempotency-Key",
                    type=OpenApiTypes.UUID,
                    location=OpenApiParameter.HEADER,
                    required=required,
                    description=(
                        "Replays the stored response of an earlier request with the same key, method, path "
                        "and body within 24 h (`Idempotent-Replayed: true`); 409 if reused with another "
                        "request or still in flight." + (" Required." if required else "")
                    ),
                )
            )
        return parameters

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictSerializerMixin):
            schema["additionalProperties"] = False  # unknown fields are a 400 (CONTRACT §0)
        return schema

    def _handler(self) -> Any:
        action = getattr(self.view, "action", None)
        return getattr(self.view, action or self.method.lower(), None)

    def is_deprecated(self) -> bool:
        return bool(
            super().is_deprecated()
            or getattr(type(self.view), "deprecation_headers", None)
            or getattr(self._handler(), "deprecation_headers", None)
        )

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any) -> Any:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            operation[_PRIVATE_KEY] = infer_error_statuses(
                operation, path=path, method=method, rate_limited=_is_rate_limited(self.view)
            )
        return operation


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook (SPECTACULAR_SETTINGS['POSTPROCESSING_HOOKS'])."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    responses = components.setdefault("responses", {})
    for name, description in _ERROR_RESPONSES.values():
        responses[name] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    responses["TooManyRequests"]["headers"] = {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds until the window resets."}
    }

    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = operation.pop(_PRIVATE_KEY, None)
            if statuses is None:  # a view with another schema class: infer from the operation
                statuses = infer_error_statuses(operation, path=path, method=method)
            for status_code in statuses:
                name = _ERROR_RESPONSES[status_code][0]
                operation["responses"].setdefault(str(status_code), {"$ref": f"#/components/responses/{name}"})
            for status_code, response in operation["responses"].items():
                # An error an endpoint documents itself (description only) has the same shape.
                if status_code[0] in "45" and "$ref" not in response and "content" not in response:
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return result


def error_response(description: str) -> OpenApiResponse:
    """An endpoint-specific description of an error response; its body is the `Error` shape."""
    return OpenApiResponse(description=description)
