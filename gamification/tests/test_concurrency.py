"""Concurrent completions of one user: each counted once, each achievement unlocked once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from model_bakery import baker

from gamification import services
from gamification.models import UserAchievement, UserProgress
from notifications.models import Notification


@pytest.mark.django_db(transaction=True)
def test_concurrent_completions_count_each_once_and_unlock_once(user):
    UserProgress.objects.filter(user=user).delete()  # an old account: the row is created under the race too
    tasks = baker.make("tasks.Task", user=user, title="t", completed=True, _quantity=8)
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def complete(task) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                services.progress_record_completion(user=user, task=task)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert UserProgress.objects.get(user=user).lifetime_tasks_completed == 8
    assert UserAchievement.objects.filter(user=user, definition__code="tasks_5").count() == 1
    assert Notification.objects.filter(user=user, type="achievement").count() == 1
