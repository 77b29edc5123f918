"""Access tokens and JWTAuthentication (CONTRACT §1): claims, keys, rotation, expiry."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.keys import generate_private_key_pem, get_keyring, key_thumbprint
from accounts.tests.conftest import bearer
from accounts.tokens import AccessToken, access_token_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


def public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def assert_unauthorized(response, code: str = "UNAUTHORIZED") -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == code


def test_access_token_carries_the_contract_claims(user, settings):
    session_id = uuid.uuid4()
    token = access_token_for(user=user, session_id=session_id)

    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    assert header["kid"] == get_keyring().signer.kid
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == str(user.pk)
    assert claims["email"] == user.email
    assert claims["tier"] == "free"
    assert claims["sid"] == str(session_id)
    assert claims["iss"] == settings.JWT_ISSUER == "perpetua"
    assert claims["aud"] == settings.JWT_AUDIENCE == "perpetua-api"
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 15 * 60


def test_a_valid_token_authenticates_and_exposes_the_session(user, rf):
    from rest_framework.request import Request

    from accounts.authentication import JWTAuthentication, request_session_id

    session_id = uuid.uuid4()
    django_request = rf.get(ME, HTTP_AUTHORIZATION=f"Bearer {access_token_for(user=user, session_id=session_id)}")
    request = Request(django_request)
    auth = JWTAuthentication()

    found_user, claims = auth.authenticate(request)
    assert found_user == user
    assert claims["sid"] == str(session_id)
    request.user, request.auth = found_user, claims
    assert request_session_id(request) == str(session_id)

    # A second authentication of the same request is served from the request: no query.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert auth.authenticate(Request(django_request))[0] == user
    assert len(queries) == 0


def test_authentication_is_one_query(user, django_assert_num_queries):
    client = bearer(access_token_for(user=user))
    with django_assert_num_queries(1):
        response = client.get(ME)
    assert response.status_code == 200


def test_no_credentials_is_401(anon_client):
    assert_unauthorized(anon_client.get(ME))


def test_malformed_headers_are_401(user):
    for header in ["Bearer", "Bearer a b", "Bearer not-a-jwt"]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert_unauthorized(client.get(ME))


def test_expired_token_is_token_expired_with_refresh_required(user):
    token = AccessToken()
    token["sub"], token["email"], token["tier"], token["sid"] = str(user.pk), user.email, user.tier, str(uuid.uuid4())
    token.set_iat(at_time=timezone.now() - timedelta(minutes=20))
    token.set_exp(from_time=timezone.now() - timedelta(minutes=20))

    response = bearer(str(token)).get(ME)

    assert_unauthorized(response, "TOKEN_EXPIRED")
    assert response.json()["error"]["refresh_required"] is True


def test_tampered_token_is_refused(user):
    token = access_token_for(user=user)
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["tier"] = "pro"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()

    assert_unauthorized(bearer(f"{header}.{forged_payload}.{signature}").get(ME))


def test_wrong_audience_or_issuer_is_refused(user):
    signer = get_keyring().signer
    base = {
        "sub": str(user.pk),
        "sid": str(uuid.uuid4()),
        "jti": "x",
        "token_type": "access",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    for extra in [{"aud": "other", "iss": "perpetua"}, {"aud": "perpetua-api", "iss": "other"}]:
        token = jwt.encode(
            {**base, **extra}, signer.prepared_signing_key, algorithm="RS256", headers={"kid": signer.kid}
        )
        assert_unauthorized(bearer(token).get(ME))


def test_token_of_a_deleted_user_is_refused(user):
    token = access_token_for(user=user)
    user.delete()
    assert_unauthorized(bearer(token).get(ME))


def test_token_signed_by_the_previous_key_is_accepted_after_rotation(user, settings):
    old_key, new_key = generate_private_key_pem(), generate_private_key_pem()
    settings.JWT_PRIVATE_KEY = old_key
    settings.JWT_KEY_ID = "2026-01"
    old_token = access_token_for(user=user)
    assert jwt.get_unverified_header(old_token)["kid"] == "2026-01"

    settings.JWT_PRIVATE_KEY = new_key
    settings.JWT_KEY_ID = "2026-02"
    settings.JWT_PREVIOUS_PUBLIC_KEY = public_pem(old_key)
    settings.JWT_PREVIOUS_KEY_ID = "2026-01"

    assert bearer(old_token).get(ME).status_code == 200
    new_token = access_token_for(user=user)
    assert jwt.get_unverified_header(new_token)["kid"] == "2026-02"
    assert bearer(new_token).get(ME).status_code == 200

    # Once the previous key is retired, its tokens stop working.
    settings.JWT_PREVIOUS_PUBLIC_KEY = ""
    settings.JWT_PREVIOUS_KEY_ID = ""
    assert_unauthorized(bearer(old_token).get(ME))


def test_token_with_an_unknown_kid_is_refused(user):
    stranger = generate_private_key_pem()
    claims = jwt.decode(access_token_for(user=user), options={"verify_signature": False})
    token = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "unknown-kid"})

    assert_unauthorized(bearer(token).get(ME))


def test_token_with_a_current_kid_but_another_key_is_refused(user):
    stranger = generate_private_key_pem()
    claims = jwt.decode(access_token_for(user=user), options={"verify_signature": False})
    token = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": get_keyring().signer.kid})

    assert_unauthorized(bearer(token).get(ME))


def test_hs256_token_using_the_public_key_as_secret_is_refused(user):
    claims = jwt.decode(access_token_for(user=user), options={"verify_signature": False})
    header = {"kid": get_keyring().signer.kid, "alg": "HS256"}
    token = jwt.api_jws.PyJWS().encode(json.dumps(claims).encode(), b"x" * 32, algorithm="HS256", headers=header)

    assert_unauthorized(bearer(token).get(ME))


def test_jwks_lists_the_current_and_previous_keys(anon_client, settings):
    old_key, new_key = generate_private_key_pem(), generate_private_key_pem()
    settings.JWT_PRIVATE_KEY = new_key
    settings.JWT_KEY_ID = ""
    settings.JWT_PREVIOUS_PUBLIC_KEY = public_pem(old_key)
    settings.JWT_PREVIOUS_KEY_ID = "old"

    response = anon_client.get("/api/v1/auth/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.json()["keys"]
    new_public = serialization.load_pem_public_key(public_pem(new_key).encode())
    assert [key["kid"] for key in keys] == [key_thumbprint(new_public), "old"]
    for key in keys:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
        assert set(key) == {"kty", "alg", "use", "kid", "n", "e"}
    # The published key verifies our tokens.
    public = jwt.PyJWK(keys[0]).key
    assert (
        jwt.decode(access_token_for(user=baker_user()), public, algorithms=["RS256"], audience="perpetua-api")["tier"]
        == "free"
    )


def baker_user():
    from model_bakery import baker

    return baker.make("accounts.User", email=f"{uuid.uuid4().hex}@example.com")


def test_mismatched_public_key_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.JWT_PRIVATE_KEY = generate_private_key_pem()
    settings.JWT_PUBLIC_KEY = public_pem(generate_private_key_pem())

    with pytest.raises(ImproperlyConfigured):
        get_keyring()


def test_missing_key_outside_debug_and_tests_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.JWT_PRIVATE_KEY = ""
    settings.TESTING = False
    settings.DEBUG = False

    with pytest.raises(ImproperlyConfigured):
        get_keyring()


def test_debug_key_is_generated_once_and_persisted(settings, tmp_path):
    settings.JWT_PRIVATE_KEY = ""
    settings.TESTING = False
    settings.DEBUG = True
    settings.JWT_DEV_KEY_FILE = tmp_path / "dev-key.pem"

    first_kid = get_keyring().signer.kid
    assert settings.JWT_DEV_KEY_FILE.exists()
    assert settings.JWT_DEV_KEY_FILE.stat().st_mode & 0o777 == 0o600

    from accounts.keys import reset_keyring

    reset_keyring()
    assert get_keyring().signer.kid == first_kid
