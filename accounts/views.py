"""Auth and users endpoints (CONTRACT §1, §2). Thin: each calls one service or selector."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.keys import jwks_document
from accounts.serializers import (
    AccountDeletedEnvelopeSerializer,
    GoogleCallbackSerializer,
    LoggedOutEnvelopeSerializer,
    RefreshSerializer,
    SignInSerializer,
    UserEnvelopeSerializer,
    UserExportEnvelopeSerializer,
    UserSerializer,
    UserUpdateSerializer,
    sign_in_data,
)
from onboarding import services as onboarding_services
from perpetua.api.exceptions import InvalidRefreshToken
from perpetua.api.responses import envelope
from perpetua.api.views import ApiView

REFRESH_COOKIE_PATH = "/api/v1/auth/"
_ERROR = {"$ref": "#/components/schemas/Error"}
_GOOGLE_REFUSED = OpenApiResponse(_ERROR, description="UNAUTHORIZED: the Google ID token is not valid for us.")
_GOOGLE_DOWN = OpenApiResponse(_ERROR, description="SERVICE_UNAVAILABLE: Google's certificates cannot be fetched.")
_REFRESH_REFUSED = OpenApiResponse(
    _ERROR, description="INVALID_REFRESH_TOKEN: unknown, expired, revoked or reused (reuse revokes the session)."
)


def _set_refresh_cookie(response: Response, refresh_token: str) -> None:
    response.set_cookie(
        settings.REFRESH_COOKIE_NAME,
        refresh_token,
        max_age=settings.JWT_REFRESH_TTL_DAYS * 86400,
        path=REFRESH_COOKIE_PATH,
        secure=settings.REFRESH_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def _delete_refresh_cookie(response: Response) -> None:
    response.delete_cookie(settings.REFRESH_COOKIE_NAME, path=REFRESH_COOKIE_PATH, samesite="Strict")


def _sign_in_response(result: services.SignInResult) -> Response:
    """Flat, the one exception to the envelope (CONTRACT §1)."""
    response = Response(sign_in_data(result), headers={"Cache-Control": "no-store"})
    _set_refresh_cookie(response, result.refresh_token)
    return response


def _refresh_token_from(request: Request, body_token: Any) -> str | None:
    """The refresh token from the body, else from the HttpOnly cookie (CONTRACT §1)."""
    if isinstance(body_token, str) and body_token:
        return body_token
    return request.COOKIES.get(settings.REFRESH_COOKIE_NAME) or None


class AuthView(ApiView):
    """Auth endpoints: open to anyone, never reading an access token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class GoogleCallbackView(AuthView):
    @extend_schema(
        tags=["auth"],
        request=GoogleCallbackSerializer,
        responses={200: SignInSerializer, 401: _GOOGLE_REFUSED, 503: _GOOGLE_DOWN},
        summary="Sign in with a Google ID token",
    )
    def post(self, request: Request) -> Response:
        serializer = GoogleCallbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _sign_in_response(
            onboarding_services.account_sign_in_google(id_token=serializer.validated_data["id_token"])
        )


class RefreshView(AuthView):
    @extend_schema(
        tags=["auth"],
        request=RefreshSerializer,
        responses={200: SignInSerializer, 401: _REFRESH_REFUSED},
        summary="Rotate a refresh token (body or cookie) into a new token pair",
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token = _refresh_token_from(request, serializer.validated_data.get("refresh_token"))
        if token is None:
            raise InvalidRefreshToken("No refresh token in the body or the cookie.")
        return _sign_in_response(services.session_refresh(refresh_token=token))


class LogoutView(AuthView):
    @extend_schema(
        tags=["auth"],
        request=RefreshSerializer,
        responses={200: LoggedOutEnvelopeSerializer},
        description="Always 200 (idempotent), also for an unknown, missing or unreadable token.",
        summary="Sign out: revoke the refresh token's session",
    )
    def post(self, request: Request) -> Response:
        try:
            body = request.data if isinstance(request.data, dict) else {}
        except (ParseError, UnsupportedMediaType):  # 200 always: an unreadable body still signs out
            body = {}
        services.session_end(refresh_token=_refresh_token_from(request, body.get("refresh_token")))
        response = envelope({"logged_out": True})
        _delete_refresh_cookie(response)
        return response


class JwksView(AuthView):
    @extend_schema(
        tags=["auth"],
        responses={
            200: inline_serializer("Jwks", {"keys": drf_serializers.ListField(child=drf_serializers.DictField())})
        },
        summary="Public keys that verify access tokens (JWKS, current and previous kid)",
    )
    def get(self, request: Request) -> Response:
        return Response(jwks_document(), headers={"Cache-Control": "public, max-age=300"})


class MeView(ApiView):
    @extend_schema(tags=["users"], responses={200: UserEnvelopeSerializer}, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        return envelope(UserSerializer(request.user).data)

    @extend_schema(
        tags=["users"],
        request=UserUpdateSerializer,
        responses={200: UserEnvelopeSerializer},
        summary="Update name and/or timezone",
    )
    def patch(self, request: Request) -> Response:
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        changes: dict[str, Any] = {}
        if "name" in values:
            changes["name"] = values["name"]
        if "timezone" in values:
            changes["timezone_name"] = values["timezone"]
        user = services.user_update(user=request.user, **changes)
        return envelope(UserSerializer(user).data)

    @extend_schema(
        tags=["users"],
        responses={200: AccountDeletedEnvelopeSerializer},
        summary="Delete the account and everything it owns",
    )
    def delete(self, request: Request) -> Response:
        services.user_delete(user=request.user)
        response = envelope({"deleted": True})
        _delete_refresh_cookie(response)
        return response


class MeExportView(ApiView):
    @extend_schema(
        tags=["users"],
        responses={200: UserExportEnvelopeSerializer},
        summary="Every row the user owns, as one JSON document",
    )
    def get(self, request: Request) -> Response:
        return envelope(
            selectors.user_export(user=request.user),
            headers={"Content-Disposition": 'attachment; filename="perpetua-export.json"', "Cache-Control": "no-store"},
        )
