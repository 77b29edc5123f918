"""Bearer-JWT authentication for DRF (CONTRACT §1).

`request.user` is the token's user (loaded in one query) and `request.auth` is the
token's claims dict, so `request.auth["sid"]` names the session (used by the per-task
AI counter). The outcome is remembered on the underlying Django request: DRF may
authenticate a request more than once (wrapped views, re-dispatch), the token is
decoded once.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.selectors import user_get_for_access_token
from perpetua.api.exceptions import ApiError, Unauthorized

_CACHE_ATTR = "_perpetua_jwt_auth"
_MISSING = object()


def request_session_id(request: Any) -> str | None:
    """The `sid` (sign-in session) of the access token that authenticated `request`."""
    auth = getattr(request, "auth", None)
    return auth.get("sid") if isinstance(auth, dict) else None


class JWTAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Any) -> tuple[Any, dict[str, Any]] | None:
        django_request = getattr(request, "_request", request)
        cached = getattr(django_request, _CACHE_ATTR, _MISSING)
        if cached is _MISSING:
            cached = self._authenticate(request)
            setattr(django_request, _CACHE_ATTR, cached)
        if isinstance(cached, ApiError):
            raise cached
        return cached

    def _authenticate(self, request: Any) -> tuple[Any, dict[str, Any]] | ApiError | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            return Unauthorized("Malformed Authorization header: expected 'Bearer <token>'.")
        try:
            token = parts[1].decode("ascii")
            return user_get_for_access_token(token=token)
        except UnicodeDecodeError:
            return Unauthorized("Invalid access token.")
        except ApiError as exc:
            return exc

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
