"""The token's user and session served from the cache, and every write that must end that at once.

Each test first makes an authenticated request, so the user and the session are cached,
then changes them and checks that the very next request sees the change.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.sites import site
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.admin import UserAdmin
from accounts.models import User
from accounts.selectors import token_user_cache_forget
from accounts.services import session_start, user_delete
from accounts.tokens import access_token_for
from billing.services import subscription_grant_pro

ME = "/api/v1/users/me"
LOGOUT = "/api/v1/auth/logout"
REFRESH = "/api/v1/auth/refresh"


@pytest.fixture
def auth_cache(settings):
    settings.AUTH_CACHE_SECONDS = 60
    return settings


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_cached_user_and_session_cost_no_query(auth_cache, user, django_assert_num_queries):
    client = bearer(session_start(user=user).access_token)
    assert client.get(ME).status_code == 200  # fills the cache: one query
    with django_assert_num_queries(0):
        response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["data"]["email"] == user.email


def test_without_the_cache_each_request_checks_user_and_session_in_one_query(user, django_assert_num_queries):
    assert django_settings.AUTH_CACHE_SECONDS == 0  # the local-memory default: no cache
    client = bearer(session_start(user=user).access_token)
    client.get(ME)
    with django_assert_num_queries(1):
        assert client.get(ME).status_code == 200


def test_logout_refuses_the_same_access_token_at_once(auth_cache, user):
    session = session_start(user=user)
    client = bearer(session.access_token)
    assert client.get(ME).status_code == 200

    assert APIClient().post(LOGOUT, {"refresh_token": session.refresh_token}, format="json").status_code == 200

    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_logout_leaves_the_users_other_sessions_working(auth_cache, user):
    mine, other = session_start(user=user), session_start(user=user)
    assert bearer(mine.access_token).get(ME).status_code == 200
    assert bearer(other.access_token).get(ME).status_code == 200

    APIClient().post(LOGOUT, {"refresh_token": mine.refresh_token}, format="json")

    assert bearer(mine.access_token).get(ME).status_code == 401
    assert bearer(other.access_token).get(ME).status_code == 200


def test_refresh_token_reuse_revokes_the_sessions_access_tokens_at_once(auth_cache, user):
    first = session_start(user=user)
    rotated = APIClient().post(REFRESH, {"refresh_token": first.refresh_token}, format="json").json()
    assert bearer(first.access_token).get(ME).status_code == 200
    assert bearer(rotated["access_token"]).get(ME).status_code == 200

    reuse = APIClient().post(REFRESH, {"refresh_token": first.refresh_token}, format="json")

    assert reuse.status_code == 401
    assert bearer(first.access_token).get(ME).status_code == 401
    assert bearer(rotated["access_token"]).get(ME).status_code == 401


def test_deleted_account_is_refused_at_once(auth_cache, user):
    session = session_start(user=user)
    client = bearer(session.access_token)
    assert client.get(ME).status_code == 200

    assert client.delete(ME).status_code == 200

    assert client.get(ME).status_code == 401
    assert bearer(access_token_for(user=user)).get(ME).status_code == 401  # a fresh session of the gone user
    assert not User.objects.filter(pk=user.pk).exists()


def test_deletion_by_the_service_refuses_every_session(auth_cache, user):
    sessions = [session_start(user=user) for _ in range(2)]
    for session in sessions:
        assert bearer(session.access_token).get(ME).status_code == 200

    user_delete(user=user)

    assert [bearer(s.access_token).get(ME).status_code for s in sessions] == [401, 401]


def test_tier_change_is_seen_by_the_next_request(auth_cache, user):
    client = bearer(session_start(user=user).access_token)
    assert client.get(ME).json()["data"]["tier"] == "free"

    subscription_grant_pro(user=User.objects.get(pk=user.pk))

    assert client.get(ME).json()["data"]["tier"] == "pro"


def test_profile_change_is_seen_by_the_next_request(auth_cache, user):
    client = bearer(session_start(user=user).access_token)
    client.get(ME)

    assert client.patch(ME, {"name": "Grace", "timezone": "Europe/Paris"}, format="json").status_code == 200

    data = client.get(ME).json()["data"]
    assert (data["name"], data["timezone"]) == ("Grace", "Europe/Paris")


def test_staff_deactivation_and_deletion_in_the_admin_are_refused_at_once(auth_cache, user, make_user):
    client = bearer(session_start(user=user).access_token)
    assert client.get(ME).status_code == 200
    staff = make_user(is_staff=True, is_superuser=True)
    request = RequestFactory().post("/admin/accounts/user/")
    request.user = staff
    admin = UserAdmin(User, site)

    user.is_active = False
    admin.save_model(request, user, form=None, change=True)
    assert client.get(ME).status_code == 401

    other = make_user()
    other_client = bearer(session_start(user=other).access_token)
    assert other_client.get(ME).status_code == 200
    admin.delete_queryset(request, User.objects.filter(pk=other.pk))
    assert other_client.get(ME).status_code == 401


def test_a_request_that_read_the_row_before_a_change_cannot_cache_it(auth_cache, user, django_assert_num_queries):
    """The STALE marker: after a change nothing is cached for AUTH_CACHE_STALE_SECONDS, so a
    fill racing the write (row read before it, cached after) is refused by `cache.add`."""
    client = bearer(session_start(user=user).access_token)
    client.get(ME)
    token_user_cache_forget(user_id=user.pk)

    for _ in range(2):  # each reads the database: the marker keeps the cache from being filled
        with django_assert_num_queries(1):
            assert client.get(ME).status_code == 200
    cache.delete(f"auth:user:{user.pk}")  # the marker expired
    client.get(ME)
    with django_assert_num_queries(0):
        assert client.get(ME).status_code == 200


def test_cache_down_falls_back_to_the_database(auth_cache, user, settings):
    settings.CACHES = {"default": {"BACKEND": "perpetua.api.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    session = session_start(user=user)
    client = bearer(session.access_token)
    assert client.get(ME).status_code == 200
    assert APIClient().post(LOGOUT, {"refresh_token": session.refresh_token}, format="json").status_code == 200
    assert client.get(ME).status_code == 401


# --- the production backend (its use by two server processes: perpetua/tests/test_scale_out.py) ---


def test_the_production_redis_backend_keeps_one_client_and_behaves_as_djangos(redis_url, settings):
    settings.CACHES = {"default": {"BACKEND": "perpetua.api.cache.RedisCache", "LOCATION": redis_url}}
    cache.set("k", {"v": 1}, 30)
    assert cache.add("k", "other", 30) is False
    assert cache.get_many(["k", "missing"]) == {"k": {"v": 1}}
    assert cache._cache.get_client() is cache._cache.get_client(write=True)  # built once, reused
    cache.delete("k")
    assert cache.get("k") is None
