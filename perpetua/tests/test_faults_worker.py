"""Fault: a worker is killed (SIGKILL) in the middle of a job (issue 13, "Faults, tested").

Two real `manage.py run_worker` processes share the test database. The first claims the
reminder job and is killed while the job's transaction is open; the second, started
afterwards, finds the job RUNNING under a worker whose liveness lock PostgreSQL has
dropped, re-queues it and runs it: the reminder fires exactly once.
"""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from model_bakery import baker

from notifications.models import Notification
from perpetua.tests.faults import Process, production_env, wait_until
from perpetua.tests.jobs_for_faults import fire_reminders_and_wait
from recovery.models import ActivityEntry
from tasks.models import Reminder, Task

pytestmark = pytest.mark.django_db(transaction=True)


def _worker(tmp_path, name, *extra):
    db = settings.DATABASES["default"]
    env = production_env(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        # By age alone the job would wait 15 minutes: only the dead worker's free lock re-queues it.
        JOB_STALE_AFTER_SECONDS="900",
    )
    args = ["manage.py", "run_worker", "--no-startup-delay", "--interval", "0.1", "--worker-id", name, *extra]
    return Process(args, env, tmp_path / f"{name}.log")


def test_job_of_a_killed_worker_is_retried_and_its_reminder_fires_once(tmp_path, user):
    task = baker.make(Task, user=user, title="water the plants")
    reminder = Reminder.objects.create(
        user=user, task=task, type="absolute", scheduled_at=timezone.now() - timedelta(minutes=1)
    )
    flags = tmp_path / "flags"
    flags.mkdir()
    fire_reminders_and_wait.enqueue(str(flags))

    first = _worker(tmp_path, "worker-one")
    try:
        wait_until(lambda: list(flags.glob("run-*")), timeout=120, what="the first worker to start the job")
        job = DBTaskResult.objects.get()
        assert job.status == TaskResultStatus.RUNNING
        assert not Notification.objects.exists()  # not committed yet
        first.kill(signal.SIGKILL)
    finally:
        first.kill()

    (flags / "release").touch()
    second = _worker(tmp_path, "worker-two", "--batch")  # runs what is due, then exits
    try:
        second.popen.wait(120)
    finally:
        second.kill()
    assert second.popen.returncode == 0, second.output()

    job.refresh_from_db()
    assert job.status == TaskResultStatus.SUCCESSFUL, second.output()
    assert job.worker_ids == ["worker-one", "worker-two"]  # retried by the second worker
    assert len(list(flags.glob("run-*"))) == 2
    assert DBTaskResult.objects.count() == 1  # no duplicate job was enqueued
    # The effect happened exactly once: one notification, one activity entry, the reminder fired.
    assert list(Notification.objects.values_list("task_id", flat=True)) == [task.pk]
    assert ActivityEntry.objects.filter(entity_id=reminder.pk, action="fired").count() == 1
    reminder.refresh_from_db()
    assert reminder.fired
