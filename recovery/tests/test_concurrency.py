"""The tombstone cap holds when one user's deletions race (CONTRACT §14)."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction

from recovery.models import Tombstone
from recovery.services import tombstone_create


@pytest.mark.django_db(transaction=True)
def test_concurrent_deletions_keep_at_most_max_tombstones(make_user):
    user = make_user()
    workers = 8
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def delete_one() -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                tombstone_create(user=user, entity_type="task", entity_id=uuid.uuid4(), payload={"title": "t"})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=delete_one) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert Tombstone.objects.filter(user=user).count() == settings.MAX_TOMBSTONES


@pytest.mark.django_db(transaction=True)
def test_concurrent_task_deletions_keep_the_newest_tombstones(make_user):
    from model_bakery import baker

    from tasks.models import Task
    from tasks.services import snapshots as task_services

    user = make_user()
    tasks = baker.make(Task, user=user, _quantity=6)
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def delete(task: Task) -> None:
        try:
            barrier.wait(timeout=10)
            task_services.task_delete(user=user, task_id=task.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=delete, args=(task,)) for task in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert not Task.objects.filter(user=user).exists()
    kept = list(Tombstone.objects.filter(user=user).order_by("created_at"))
    assert len(kept) == settings.MAX_TOMBSTONES
