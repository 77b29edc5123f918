"""Fixtures for the tasks app's tests (rows via model-bakery, HTTP via APIClient)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
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


@pytest.fixture
def concurrently() -> Callable[[int, Callable[[int], Any]], list[Any]]:
    """`concurrently(n, target)`: run `target(i)` in n threads released at once; each
    thread closes its DB connection. Needs `@pytest.mark.django_db(transaction=True)`."""
    return _run_concurrently


def _run_concurrently(count: int, target: Callable[[int], Any]) -> list[Any]:
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
