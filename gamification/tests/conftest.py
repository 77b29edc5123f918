"""Fixtures for the gamification tests: a controllable clock, tasks, completion helpers."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.utils import timezone

from gamification.models import AchievementDefinition

_seed = importlib.import_module("gamification.migrations.0002_seed_definitions")


@pytest.fixture(autouse=True)
def _definitions(db):
    """The seven seeded definitions (re-seeded if a transactional test flushed them)."""
    if not AchievementDefinition.objects.exists():
        from django.apps import apps

        _seed.seed(apps, None)


class Clock:
    """`django.utils.timezone.now` under test control (no freezegun here)."""

    def __init__(self) -> None:
        self.value: dt.datetime | None = None

    def set(self, *args: int) -> dt.datetime:
        self.value = dt.datetime(*args, tzinfo=dt.UTC)
        return self.value

    def now(self) -> dt.datetime:
        return self.value or dt.datetime.now(dt.UTC)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock.now)
    return clock


@pytest.fixture
def complete(api):
    """PATCH /tasks/{id} {completed: true, version}: returns the response (asserts 200)."""

    def _complete(task, client=None) -> Any:
        task.refresh_from_db()
        response = (client or api).patch(
            f"/api/v1/tasks/{task.pk}", {"completed": True, "version": task.version}, format="json"
        )
        assert response.status_code == 200, response.content
        return response

    return _complete
