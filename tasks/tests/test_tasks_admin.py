"""The staff admin of the tasks app: every list, search and change page renders (CONTRACT §15)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from model_bakery import baker

from tasks.models import FocusSession, Reminder, Subtask, Task, TaskTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_user):
    admin_user = make_user(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def rows(user):
    template = baker.make(TaskTemplate, user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    task = baker.make(Task, user=user, template=template, title="Findable task")
    subtask = baker.make(Subtask, task=task, order_index=0)
    reminder = baker.make(Reminder, user=user, task=task, type="absolute", scheduled_at=timezone.now())
    session = baker.make(FocusSession, user=user, task=task, started_at=timezone.now())
    return {"task": task, "subtask": subtask, "tasktemplate": template, "reminder": reminder, "focussession": session}


@pytest.mark.parametrize("model", ["task", "subtask", "tasktemplate", "reminder", "focussession"])
def test_admin_pages_render(staff_client, rows, model):
    base = f"/admin/tasks/{model}/"
    obj = rows[model]
    assert staff_client.get(base).status_code == 200
    assert staff_client.get(base, {"q": "Findable"}).status_code == 200
    assert staff_client.get(base, {"q": str(obj.pk)}).status_code == 200
    assert staff_client.get(f"{base}{obj.pk}/change/").status_code == 200


def test_task_admin_search_finds_by_title_and_filters(staff_client, rows):
    response = staff_client.get("/admin/tasks/task/", {"q": "findable", "completed__exact": "0"})
    assert response.status_code == 200
    assert b"Findable task" in response.content


def test_admin_is_staff_only(client_for, user):
    client = Client()
    client.force_login(user)
    response = client.get("/admin/tasks/task/")
    assert response.status_code == 302
