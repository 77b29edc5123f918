"""Jobs queued before the tasks app became packages still run after the deploy."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django_tasks_db.models import DBTaskResult

from perpetua.jobs import enqueue
from tasks.services.recurring import template_generate_next_job
from tasks.services.reminders import reminders_fire_due_job

pytestmark = pytest.mark.django_db

migration = importlib.import_module("tasks.migrations.0002_job_paths_after_package_split")


def test_queued_jobs_of_the_old_modules_point_at_the_new_ones():
    enqueue(reminders_fire_due_job)
    enqueue(template_generate_next_job, "00000000-0000-4000-8000-000000000000", "2026-01-01T00:00:00+00:00")
    DBTaskResult.objects.filter(task_path=reminders_fire_due_job.module_path).update(
        task_path="tasks.reminders.reminders_fire_due_job"
    )
    DBTaskResult.objects.filter(task_path=template_generate_next_job.module_path).update(
        task_path="tasks.recurring.template_generate_next_job"
    )
    migration.forwards(apps, None)
    rows = DBTaskResult.objects.order_by("task_path")
    assert [row.task_path for row in rows] == [
        "tasks.services.recurring.template_generate_next_job",
        "tasks.services.reminders.reminders_fire_due_job",
    ]
    assert [row.task.func.__name__ for row in rows] == ["template_generate_next_job", "reminders_fire_due_job"]
