"""Fixtures for the tasks app's tests (rows via model-bakery, HTTP via APIClient)."""

from __future__ import annotations

from typing import Any

import pytest
from model_bakery import baker

from gamification.services import CompletionProgress


@pytest.fixture
def other_user(make_user):
    return make_user()


@pytest.fixture
def other_api(client_for, other_user):
    return client_for(other_user)


@pytest.fixture
def task(make_task):
    return make_task(title="Write the report", description="Quarterly numbers")


@pytest.fixture
def make_subtask():
    def _make(task, n: int = 1, **fields):
        start = task.subtasks.count()
        rows = [
            baker.prepare("tasks.Subtask", task=task, title=f"Step {start + i}", order_index=start + i, **fields)
            for i in range(n)
        ]
        from tasks.models import Subtask

        return Subtask.objects.bulk_create(rows)

    return _make


@pytest.fixture
def progress_calls(monkeypatch) -> list[Any]:
    """Make gamification progress observable: every call is recorded, one unlock returned."""
    calls: list[Any] = []

    def fake(*, user, task):
        calls.append(task.pk)
        return CompletionProgress(
            unlocked_achievements=[{"id": "tasks_5", "name": "Task Starter", "description": "5 tasks", "perk": None}],
            streak=3,
        )

    monkeypatch.setattr("gamification.services.progress_record_completion", fake)
    return calls
