"""Fixtures shared by every app's tests. Tests run on real PostgreSQL (see Makefile `test`)."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from model_bakery import baker
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached certs live in the cache; each test starts clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db):
    def _make(**fields):
        fields.setdefault("email", f"user-{baker.seq('')}-{os.urandom(4).hex()}@example.com")
        return baker.make("accounts.User", **fields)

    return _make


@pytest.fixture
def user(make_user):
    return make_user()


@pytest.fixture
def pro_user(make_user):
    return make_user(tier="pro")


@pytest.fixture
def make_task(user):
    """A task row of `user` (or of `owner=`), for tests that need one without the API."""

    def _make(owner=None, **fields):
        fields.setdefault("title", "A task")
        return baker.make("tasks.Task", user=owner or user, **fields)

    return _make


@pytest.fixture
def client_for():
    """An APIClient authenticated as `user` with a real RS256 access token."""
    from accounts.tokens import access_token_for

    def _client(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user=user)}")
        return client

    return _client


@pytest.fixture
def api(client_for, user) -> APIClient:
    return client_for(user)
