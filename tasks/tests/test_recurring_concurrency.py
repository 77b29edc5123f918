"""Recurring generation under concurrency and through the worker (CONTRACT §5, §15)."""

from __future__ import annotations

import datetime as dt
import signal
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from model_bakery import baker
from rest_framework.test import APIClient

from tasks.models import Task, TaskTemplate
from tasks.services import recurring

pytestmark = pytest.mark.django_db(transaction=True)
RETRY_JOB = "tasks.services.recurring.template_generate_next_job"


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """The worker installs SIGINT/SIGTERM handlers; put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user=user)
    return c


def make_template(user, **fields) -> TaskTemplate:
    fields.setdefault("rrule", "FREQ=DAILY")
    fields.setdefault("dtstart", dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC))
    return recurring.template_create(user=user, title="Daily", **fields)


def complete(user, task_id):
    version = Task.objects.get(pk=task_id).version
    return client(user).patch(f"/api/v1/tasks/{task_id}", {"version": version, "completed": True}, format="json")


def test_concurrent_generate_creates_one_instance(user, concurrently):
    template = make_template(user)
    statuses = concurrently(
        4, lambda i: client(user).post(f"/api/v1/templates/{template.pk}/generate", format="json").status_code
    )
    assert Counter(statuses) == {201: 1, 409: 3}, statuses
    assert Task.objects.filter(template=template).count() == 1


def test_concurrent_completions_of_two_open_instances_create_one_next(user, concurrently):
    template = make_template(user)
    first = recurring.template_generate(user=user, template_id=template.pk)
    second = baker.make(Task, user=user, template=template, title="Daily", due_date=first.due_date)
    statuses = concurrently(2, lambda i: complete(user, (first, second)[i].pk).status_code)
    assert statuses == [200, 200]
    # The second completion sees the instance the first one created (template row lock).
    assert Task.objects.filter(template=template, completed=False).count() == 1
    assert Task.objects.filter(template=template).count() == 3


def test_failed_generation_is_retried_by_the_worker(user, settings):
    settings.FREE_MAX_TASKS = 2
    template = make_template(user)
    first = recurring.template_generate(user=user, template_id=template.pk)
    blockers = baker.make(Task, user=user, _quantity=2)

    response = complete(user, first.pk)
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["completed"] is True
    assert not Task.objects.filter(template=template, completed=False).exists()
    job = DBTaskResult.objects.get(task_path=RETRY_JOB)
    assert job.run_after > timezone.now()

    # The worker's first run still hits the limit: it fails and is re-enqueued with backoff.
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=timezone.now())
    call_command("run_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    assert DBTaskResult.objects.get(pk=job.pk).status == "FAILED"
    retry = DBTaskResult.objects.exclude(pk=job.pk).get(task_path=RETRY_JOB)
    assert retry.args_kwargs["kwargs"] == {"_attempt": 2}

    # Room again: the next run creates the instance, due the day after the completed one.
    Task.objects.filter(pk=blockers[0].pk).update(completed=True)
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    call_command("run_worker", batch=True, startup_delay=False, interval=0, verbosity=0)
    assert DBTaskResult.objects.get(pk=retry.pk).status == "SUCCESSFUL"
    instance = Task.objects.get(template=template, completed=False)
    assert instance.due_date == dt.datetime(2030, 1, 2, 9, tzinfo=dt.UTC)
    template.refresh_from_db()
    assert template.next_due == dt.datetime(2030, 1, 3, 9, tzinfo=dt.UTC)

    # Running the job again is a no-op (an instance is open).
    assert recurring.template_generate_next_job.call(str(template.pk), first.due_date.isoformat()) is None
    assert Task.objects.filter(template=template).count() == 2


def test_generation_error_rolls_back_only_its_savepoint(user, monkeypatch):
    template = make_template(user)
    first = recurring.template_generate(user=user, template_id=template.pk)

    def broken(**kwargs):
        Task.objects.create(user=user, title="half-made", template=template)  # must not survive
        raise RuntimeError("boom")

    monkeypatch.setattr(recurring, "_instance_create", broken)
    response = complete(user, first.pk)
    assert response.status_code == 200
    assert Task.objects.get(pk=first.pk).completed is True
    assert not Task.objects.filter(title="half-made").exists()
    assert DBTaskResult.objects.filter(task_path=RETRY_JOB).count() == 1
