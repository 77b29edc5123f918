"""POST /auth/google/callback (CONTRACT §1) against a fake Google certs server."""

from __future__ import annotations

import re
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from accounts.models import RefreshToken, User
from accounts.tests.conftest import bearer

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert User.objects.count() == 0
    assert RefreshToken.objects.count() == 0


def test_first_sign_in_creates_the_user_and_returns_a_session(sign_in, settings):
    response = sign_in()

    assert response.status_code == 200, response.content
    data = response.json()
    # Flat, not enveloped (CONTRACT §1): the SPA reads these keys at the top level.
    assert set(data) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == settings.JWT_ACCESS_TTL_MINUTES * 60 == 900
    assert set(data["user"]) == {
        "id", "google_id", "email", "name", "avatar_url", "timezone", "tier", "created_at", "updated_at"
    }  # fmt: skip
    assert data["user"]["google_id"] == "google-sub-1"
    assert data["user"]["email"] == "ada@example.com"
    assert data["user"]["name"] == "Ada Lovelace"
    assert data["user"]["timezone"] == "UTC"
    assert data["user"]["tier"] == "free"
    assert TIMESTAMP.match(data["user"]["created_at"])
    user = User.objects.get()
    assert str(user.pk) == data["user"]["id"]
    assert user.google_sub == "google-sub-1"
    assert RefreshToken.objects.filter(user=user).count() == 1

    me = bearer(data["access_token"]).get("/api/v1/users/me")
    assert me.status_code == 200
    assert me.json()["data"]["id"] == str(user.pk)


def test_returning_user_keeps_their_id_and_gets_name_and_avatar_updated(sign_in):
    first = sign_in().json()

    response = sign_in(name="Ada King", picture="https://lh3.googleusercontent.com/a/new.png")

    assert response.status_code == 200
    again = response.json()
    assert again["user"]["id"] == first["user"]["id"]
    assert again["user"]["name"] == "Ada King"
    assert again["user"]["avatar_url"] == "https://lh3.googleusercontent.com/a/new.png"
    assert User.objects.count() == 1
    # Each sign-in is its own session (refresh-token family).
    assert RefreshToken.objects.values("family_id").distinct().count() == 2


def test_sign_up_without_a_google_name_stores_the_email_local_part(sign_in):
    response = sign_in(name=None)

    assert response.status_code == 200, response.content
    assert response.json()["user"]["name"] == "ada"
    assert User.objects.get().name == "ada"
    # A later sign-in that still has no name keeps it.
    assert sign_in(name=None).json()["user"]["name"] == "ada"


def test_the_key_is_google_sub_not_email(sign_in):
    sign_in(sub="google-sub-1", email="shared@example.com")

    response = sign_in(sub="google-sub-2", email="shared@example.com")

    assert response.status_code == 409
    assert User.objects.get().google_sub == "google-sub-1"


def test_account_created_without_google_is_linked_on_first_google_sign_in(sign_in, make_user):
    existing = make_user(email="ada@example.com", google_sub=None)

    response = sign_in()

    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(existing.pk)
    assert response.json()["user"]["google_id"] == "google-sub-1"
    existing.refresh_from_db()
    assert existing.google_sub == "google-sub-1"


def test_wrong_audience_is_refused(sign_in):
    assert_refused(sign_in(aud="someone-else.apps.googleusercontent.com"))


def test_wrong_issuer_is_refused(sign_in):
    assert_refused(sign_in(iss="https://evil.example.com"))


def test_expired_token_is_refused(sign_in):
    now = int(time.time())
    assert_refused(sign_in(iat=now - 7200, exp=now - 3600))


def test_bad_signature_is_refused(sign_in, google):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_refused(sign_in(key=forger, kid=google.current_kid))


def test_unverified_email_is_refused(sign_in):
    assert_refused(sign_in(email_verified=False))


def test_missing_email_verified_is_refused(sign_in):
    assert_refused(sign_in(email_verified=None))


def test_garbage_token_is_refused(anon_client, google):
    assert_refused(anon_client.post("/api/v1/auth/google/callback", {"id_token": "not.a.jwt"}, format="json"))


def test_missing_id_token_is_a_validation_error(anon_client, google):
    response = anon_client.post("/api/v1/auth/google/callback", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "id_token"


def test_certs_are_cached_between_sign_ins(sign_in, google):
    assert sign_in().status_code == 200
    assert google.hits == 1

    assert sign_in().status_code == 200
    assert google.hits == 1


def test_expired_cache_is_refetched(sign_in, google):
    google.max_age = 0
    assert sign_in().status_code == 200
    assert sign_in().status_code == 200
    assert google.hits == 2


def test_unknown_kid_triggers_one_refetch_after_google_rotates_keys(sign_in, google, settings):
    settings.GOOGLE_CERTS_MIN_REFETCH_SECONDS = 0
    assert sign_in().status_code == 200
    assert google.hits == 1

    google.rotate()
    response = sign_in()

    assert response.status_code == 200, response.content
    assert google.hits == 2


def test_kid_google_never_published_is_refused_after_a_single_refetch(sign_in, google, settings):
    settings.GOOGLE_CERTS_MIN_REFETCH_SECONDS = 0
    assert sign_in().status_code == 200
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    response = sign_in(key=stranger, kid="never-published")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert google.hits == 2


def test_unknown_kids_refetch_at_most_once_per_interval(sign_in, google, settings):
    settings.GOOGLE_CERTS_MIN_REFETCH_SECONDS = 30
    assert sign_in().status_code == 200
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for n in range(5):
        assert sign_in(key=stranger, kid=f"made-up-{n}").status_code == 401
    assert google.hits == 1  # fetched just now: no refetch for made-up kids


def test_certs_endpoint_failing_is_503(sign_in, google):
    google.status = 500

    response = sign_in()

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert User.objects.count() == 0


def test_certs_endpoint_unreachable_is_503(sign_in, google, settings):
    google.stop()

    response = sign_in()

    assert response.status_code == 503
    assert User.objects.count() == 0


def test_no_configured_client_id_refuses_sign_in(sign_in, settings):
    settings.GOOGLE_CLIENT_IDS = []

    response = sign_in()

    assert response.status_code == 503
    assert User.objects.count() == 0
