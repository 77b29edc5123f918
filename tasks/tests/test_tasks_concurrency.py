"""Races settled by the database, against real PostgreSQL with real threads (CONTRACT §0, §3, §4)."""

from __future__ import annotations

from collections import Counter

import pytest
from model_bakery import baker
from rest_framework.test import APIClient

from recovery.models import ActivityEntry
from tasks.models import FocusSession, Subtask, Task

pytestmark = pytest.mark.django_db(transaction=True)


def client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user=user)
    return c


def test_concurrent_patches_with_the_same_version_one_wins(user, concurrently):
    task = baker.make(Task, user=user, title="original")

    def edit(i):
        response = client(user).patch(f"/api/v1/tasks/{task.pk}", {"version": 1, "title": f"edit {i}"}, format="json")
        return response.status_code

    for _ in range(3):  # a few rounds: the outcome must not depend on timing
        statuses = concurrently(2, edit)
        assert sorted(statuses) == [200, 409], statuses
        Task.objects.filter(pk=task.pk).update(version=1)
    task.refresh_from_db()
    assert task.title.startswith("edit ")


def test_many_concurrent_patches_exactly_one_wins_and_version_moves_by_one(user, concurrently):
    task = baker.make(Task, user=user)
    statuses = concurrently(
        8,
        lambda i: (
            client(user)
            .patch(f"/api/v1/tasks/{task.pk}", {"version": 1, "priority": "high"}, format="json")
            .status_code
        ),
    )
    assert Counter(statuses) == {200: 1, 409: 7}
    task.refresh_from_db()
    assert task.version == 2


@pytest.mark.parametrize(
    "body", [{"completed": True}, {"hidden": True}, {"completed": True, "version": 1}, {"hidden": True, "version": 1}]
)
def test_two_concurrent_writes_versioned_one_wins_versionless_both_apply(user, concurrently, body):
    for _ in range(3):
        task = baker.make(Task, user=user)
        statuses = concurrently(
            2, lambda i, task=task: client(user).patch(f"/api/v1/tasks/{task.pk}", body, format="json").status_code
        )
        task.refresh_from_db()
        if "version" in body:
            assert sorted(statuses) == [200, 409], statuses
            assert task.version == 2
        else:  # versionless writes queue on the row lock: both apply, no lost update
            assert statuses == [200, 200], statuses
            assert task.version == 3
        assert all(getattr(task, name) == value for name, value in body.items() if name != "version")


def test_concurrent_versionless_completes_count_once_and_add_two_versions(user, concurrently):
    task = baker.make(Task, user=user)
    results = concurrently(
        4,
        lambda i: (
            client(user).patch(f"/api/v1/tasks/{task.pk}", {"completed": True}, format="json").json()["data"]["version"]
        ),
    )
    assert sorted(results) == [2, 3, 4, 5]  # each write saw its own increment, none was lost
    task.refresh_from_db()
    assert task.completed and task.completed_by == "manual" and task.version == 5
    assert ActivityEntry.objects.filter(entity_id=task.pk, action="completed").count() == 1


def test_concurrent_versionless_hide_and_complete_both_apply(user, concurrently):
    task = baker.make(Task, user=user)
    bodies = [{"hidden": True}, {"completed": True}]
    statuses = concurrently(
        2, lambda i: client(user).patch(f"/api/v1/tasks/{task.pk}", bodies[i], format="json").status_code
    )
    assert statuses == [200, 200]
    task.refresh_from_db()
    assert task.hidden and task.completed and task.version == 3


def test_concurrent_versionless_force_completes_add_two_versions(user, concurrently):
    task = baker.make(Task, user=user)
    baker.make(Subtask, task=task, order_index=0)
    statuses = concurrently(
        2, lambda i: client(user).post(f"/api/v1/tasks/{task.pk}/force-complete", {}, format="json").status_code
    )
    assert statuses == [200, 200]
    task.refresh_from_db()
    assert task.completed_by == "force" and task.version == 3
    assert not Subtask.objects.filter(task=task, completed=False).exists()


def test_concurrent_subtask_creates_at_an_order_index_keep_indices_gapless(pro_user, concurrently):
    task = baker.make(Task, user=pro_user)
    Subtask.objects.bulk_create([Subtask(task=task, order_index=i, title=f"s{i}") for i in range(3)])

    def create(i):
        body = {"title": f"n{i}", "order_index": i % 3}
        return client(pro_user).post(f"/api/v1/tasks/{task.pk}/subtasks", body, format="json").status_code

    statuses = concurrently(6, create)
    assert statuses == [201] * 6
    rows = list(Subtask.objects.filter(task=task).order_by("order_index").values_list("title", "order_index"))
    assert [index for _, index in rows] == list(range(9))
    assert [title for title, _ in rows if title.startswith("s")] == ["s0", "s1", "s2"]  # relative order kept


def test_concurrent_creates_never_exceed_the_active_limit(make_user, concurrently):
    owner = make_user()
    baker.make(Task, user=owner, _quantity=47, _bulk_create=True)
    statuses = concurrently(
        8, lambda i: client(owner).post("/api/v1/tasks", {"title": f"t{i}"}, format="json").status_code
    )
    assert Counter(statuses) == {201: 3, 409: 5}
    assert Task.objects.filter(user=owner).count() == 50


def test_concurrent_subtask_creates_respect_limit_and_indices(user, concurrently):
    task = baker.make(Task, user=user)
    statuses = concurrently(
        8,
        lambda i: client(user).post(f"/api/v1/tasks/{task.pk}/subtasks", {"title": f"s{i}"}, format="json").status_code,
    )
    assert Counter(statuses) == {201: 4, 409: 4}
    assert sorted(Subtask.objects.filter(task=task).values_list("order_index", flat=True)) == [0, 1, 2, 3]


def test_concurrent_subtask_deletes_and_creates_keep_indices_gapless(pro_user, concurrently):
    task = baker.make(Task, user=pro_user)
    subtasks = [baker.make(Subtask, task=task, order_index=i, title=f"s{i}") for i in range(6)]

    def op(i):
        c = client(pro_user)
        if i < 3:
            return c.delete(f"/api/v1/subtasks/{subtasks[i * 2].pk}").status_code
        return c.post(f"/api/v1/tasks/{task.pk}/subtasks", {"title": f"n{i}"}, format="json").status_code

    statuses = concurrently(6, op)
    assert sorted(statuses) == [200, 200, 200, 201, 201, 201]
    order = sorted(Subtask.objects.filter(task=task).values_list("order_index", flat=True))
    assert order == list(range(6))


def test_completing_the_last_two_subtasks_concurrently_autocompletes_once(user, concurrently, monkeypatch):
    task = baker.make(Task, user=user)
    a = baker.make(Subtask, task=task, order_index=0)
    b = baker.make(Subtask, task=task, order_index=1)
    results = concurrently(
        2,
        lambda i: (
            client(user)
            .patch(f"/api/v1/subtasks/{(a, b)[i].pk}", {"completed": True}, format="json")
            .json()["task_completed"]
        ),
    )
    assert sorted(results) == [False, True]
    task.refresh_from_db()
    assert task.completed and task.completed_by == "auto" and task.version == 2


def test_concurrent_focus_starts_open_one_session(user, concurrently):
    tasks = baker.make(Task, user=user, _quantity=4)
    statuses = concurrently(
        4,
        lambda i: client(user).post("/api/v1/focus/start", {"task_id": str(tasks[i].pk)}, format="json").status_code,
    )
    assert Counter(statuses) == {201: 1, 409: 3}
    assert FocusSession.objects.filter(user=user, ended_at__isnull=True).count() == 1


def test_concurrent_focus_ends_add_the_time_once(user, concurrently):
    from datetime import timedelta

    from django.utils import timezone

    task = baker.make(Task, user=user)
    session = baker.make(FocusSession, user=user, task=task, started_at=timezone.now() - timedelta(seconds=50))
    statuses = concurrently(
        4,
        lambda i: client(user).post("/api/v1/focus/end", {"session_id": str(session.pk)}, format="json").status_code,
    )
    assert Counter(statuses) == {200: 1, 409: 3}
    task.refresh_from_db()
    assert 50 <= task.focus_time_seconds <= 52


def test_concurrent_subtask_completion_and_task_delete_do_not_deadlock(user, concurrently):
    for _ in range(3):
        task = baker.make(Task, user=user)
        subtasks = [baker.make(Subtask, task=task, order_index=i) for i in range(3)]

        def op(i, task=task, subtasks=subtasks):
            c = client(user)
            if i == 0:
                return c.delete(f"/api/v1/tasks/{task.pk}").status_code
            return c.patch(f"/api/v1/subtasks/{subtasks[i].pk}", {"completed": True}, format="json").status_code

        statuses = concurrently(3, op)
        assert statuses[0] == 200
        assert set(statuses[1:]) <= {200, 404}


def test_concurrent_delete_reopen_focus_and_subtask_create_do_not_deadlock(user, concurrently):
    for _ in range(3):
        task = baker.make(Task, user=user, completed=True, completion_counted=True)

        def op(i, task=task):
            c = client(user)
            if i == 0:
                return c.delete(f"/api/v1/tasks/{task.pk}").status_code
            if i == 1:
                return c.patch(
                    f"/api/v1/tasks/{task.pk}", {"version": 1, "completed": False}, format="json"
                ).status_code
            if i == 2:
                return c.post("/api/v1/focus/start", {"task_id": str(task.pk)}, format="json").status_code
            return c.post(f"/api/v1/tasks/{task.pk}/subtasks", {"title": "s"}, format="json").status_code

        statuses = concurrently(4, op)
        assert statuses[0] == 200, statuses
        assert statuses[1] in (200, 404) and statuses[2] in (201, 404) and statuses[3] in (201, 404), statuses
        FocusSession.objects.filter(user=user).delete()
