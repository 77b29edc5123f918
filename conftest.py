"""Fixtures shared by every app's tests. Tests run on real PostgreSQL (see Makefile `test`)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from model_bakery import baker
from rest_framework.test import APIClient
from xdist.scheduler import LoadScheduling

from perpetua.tests.processes import redis_server

# Modules whose tests share processes started once for the module (`scope="module"`).
ONE_WORKER_MODULES = frozenset({"perpetua/tests/test_scale_out.py"})


class _LoadKeepingModulesTogether(LoadScheduling):
    """xdist's `--dist load`, except that a module of ONE_WORKER_MODULES goes to one worker
    in one batch, so its processes start once. The order stays pytest-django's (transactional
    tests last, after every test that needs the migrations' rows), which `loadgroup` and
    `loadfile` would break; `loadgroup` does not group under pytest 9 anyway (pytest-xdist#1386)."""

    def _send_tests(self, node: Any, num: int) -> None:
        while 0 < num < len(self.pending) and self._same_module(self.pending[num - 1], self.pending[num]):
            num += 1
        super()._send_tests(node, num)

    def _same_module(self, first: int, second: int) -> bool:
        module = self.collection[first].split("::", 1)[0]
        return module in ONE_WORKER_MODULES and self.collection[second].split("::", 1)[0] == module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    return _LoadKeepingModulesTogether(config, log) if config.getvalue("dist") == "load" else None


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached certs live in the cache; each test starts clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A redis-server of this test process (each xdist worker its own), started on first use."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


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


@pytest.fixture
def concurrently() -> Callable[[int, Callable[[int], Any]], list[Any]]:
    """`concurrently(n, target)`: run `target(i)` in n threads released at once by a barrier;
    an exception is returned in its slot; each thread closes its DB connection. Needs
    `@pytest.mark.django_db(transaction=True)`."""

    def run(count: int, target: Callable[[int], Any]) -> list[Any]:
        barrier = threading.Barrier(count)
        results: list[Any] = [None] * count

        def worker(i: int) -> None:
            try:
                barrier.wait()
                results[i] = target(i)
            except Exception as exc:  # surfaced to the test through results
                results[i] = exc
            finally:
                connection.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return results

    return run
