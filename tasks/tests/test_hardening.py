"""Issue 9 through the HTTP surface of the tasks app: the reproductions of items 1, 2, 6
and 9 answer 400 and change nothing (the whole classes are in `test_rrule.py`)."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from perpetua.api.serializers import format_datetime
from tasks.models import Reminder, Subtask, Task, TaskTemplate

pytestmark = pytest.mark.django_db

NEVER = [
    "FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=2;COUNT=1",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
    "FREQ=YEARLY;BYDAY=MO;BYSETPOS=60",
]
NUMBERED_OUT_OF_RANGE = [
    "FREQ=MONTHLY;BYDAY=+20MO",
    "FREQ=MONTHLY;BYDAY=+10MO",
    "FREQ=MONTHLY;BYDAY=-99FR",
    "FREQ=YEARLY;BYDAY=+99MO",
]


def _template(api, **body):
    body = {"title": "Water the plants", "rrule": "FREQ=DAILY", "dtstart": "2030-01-07T09:00:00Z", **body}
    response = api.post("/api/v1/templates", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def _rrule_400(response):
    assert response.status_code == 400, response.json()
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == ["rrule"]
    return details[0]["message"]


def test_the_reproduction_of_item_1_is_a_400_on_dtstart_and_stores_nothing(api):
    body = {"title": "h", "rrule": NEVER[0], "dtstart": "0001-01-01T00:00:00Z"}
    response = api.post("/api/v1/templates", body, format="json")
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == ["dtstart"]
    assert not TaskTemplate.objects.exists()


@pytest.mark.parametrize("rrule", [*NEVER, *NUMBERED_OUT_OF_RANGE, "FREQ=YEARLY;INTERVAL=5"])
def test_create_refuses_rules_without_a_next_occurrence_or_crashing_dateutil(api, rrule):
    message = _rrule_400(api.post("/api/v1/templates", {"title": "h", "rrule": rrule}, format="json"))
    assert "unpack" not in message and "index" not in message
    assert not TaskTemplate.objects.exists()


@pytest.mark.parametrize("rrule", NEVER + NUMBERED_OUT_OF_RANGE)
def test_template_patch_refuses_them_and_changes_nothing(api, rrule):
    data = _template(api)
    _rrule_400(api.patch(f"/api/v1/templates/{data['id']}", {"rrule": rrule}, format="json"))
    template = TaskTemplate.objects.get(pk=data["id"])
    assert template.rrule == "FREQ=DAILY" and template.active is True
    assert format_datetime(template.next_due) == data["next_due"]


@pytest.mark.parametrize("rrule", NEVER + NUMBERED_OUT_OF_RANGE)
def test_recurrence_edit_from_an_instance_refuses_them_and_changes_nothing(api, rrule):
    data = _template(api)
    task = api.post(f"/api/v1/templates/{data['id']}/generate", format="json").json()["data"]
    response = api.patch(f"/api/v1/tasks/{task['id']}", {"rrule": rrule, "scope": "future"}, format="json")
    _rrule_400(response)
    assert Task.objects.get(pk=task["id"]).version == task["version"]
    template = TaskTemplate.objects.get(pk=data["id"])
    assert template.rrule == "FREQ=DAILY" and template.active is True


def test_resuming_a_stored_rule_that_never_occurs_is_a_400_and_stays_paused(api, user):
    """A template stored before the fix: PATCH {"active": true} searches with the bound."""
    template = TaskTemplate.objects.create(
        user=user, title="h", rrule=NEVER[1], dtstart=timezone.now() - timedelta(days=3), active=False
    )
    response = api.patch(f"/api/v1/templates/{template.pk}", {"active": True}, format="json")
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == ["active"]
    template.refresh_from_db()
    assert template.active is False and template.next_due is None


def test_numbered_weekdays_in_range_still_work(api):
    data = _template(api, rrule="FREQ=MONTHLY;BYDAY=-1FR", dtstart="2030-01-01T09:00:00Z")
    assert data["next_due"] == "2030-01-25T09:00:00.000Z"  # the last Friday of January 2030


# --- item 2: a list's length before its items ----------------------------------------------------------


def test_a_huge_reorder_list_is_refused_before_its_items(api, task, make_subtask):
    subtasks = make_subtask(task, 2)
    url = f"/api/v1/tasks/{task.pk}/subtasks/reorder"
    huge = api.put(url, {"subtask_ids": ["x"] * 200_000}, format="json")  # the JSON parser's item bound
    assert huge.status_code == 400 and len(huge.content) < 1000
    # Within the parser's bound, the length is still checked before any item is validated.
    response = api.put(url, {"subtask_ids": ["x"] * 1000}, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details == [{"field": "subtask_ids", "message": "Ensure this field has no more than 100 elements."}]
    too_many = api.put(url, {"subtask_ids": [str(uuid.uuid4()) for _ in range(101)]}, format="json")
    assert too_many.status_code == 400
    assert list(Subtask.objects.filter(task=task).order_by("order_index")) == subtasks


# --- item 9: dates inside sane bounds -------------------------------------------------------------------


CALENDAR_BOUND = "Must be a date-time in the years 2000 to 2100 (UTC)."
DUE_BOUND = "Must be at most 30 days after the task's creation and 366 days before it."


@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("0001-01-01T00:00:00Z", CALENDAR_BOUND),
        ("9999-12-31T23:59:59Z", CALENDAR_BOUND),
        ("2001-01-01T00:00:00Z", DUE_BOUND),
        ("2099-12-31T23:59:59Z", DUE_BOUND),
    ],
)
def test_due_dates_at_the_ends_of_the_calendar_are_a_400(api, task, due, message):
    created = api.post("/api/v1/tasks", {"title": "t", "due_date": due}, format="json")
    assert created.status_code == 400
    assert created.json()["error"]["details"] == [{"field": "due_date", "message": message}]
    patched = api.patch(f"/api/v1/tasks/{task.pk}", {"due_date": due}, format="json")
    assert patched.status_code == 400
    task.refresh_from_db()
    assert task.due_date is None and task.version == 1
    assert Task.objects.count() == 1


def test_an_overdue_due_date_within_the_bound_is_fine(api):
    due = timezone.now() - timedelta(days=365)
    response = api.post("/api/v1/tasks", {"title": "t", "due_date": format_datetime(due)}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "scheduled_at",
    ["2099-12-31T00:00:00Z", "2001-01-01T00:00:00Z", lambda: timezone.now() + timedelta(days=367)],
)
def test_absolute_reminders_far_ahead_or_in_the_past_are_a_400(api, task, scheduled_at):
    when = scheduled_at() if callable(scheduled_at) else scheduled_at
    when = format_datetime(when) if isinstance(when, dt.datetime) else when
    response = api.post(f"/api/v1/tasks/{task.pk}/reminders", {"type": "absolute", "scheduled_at": when}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "scheduled_at", "message": "Must be in the future, at most 366 days from now."}
    ]
    assert not Reminder.objects.exists()


def test_a_relative_reminder_that_would_be_in_the_past_is_a_400(api, make_task):
    task = make_task(title="soon", due_date=timezone.now() + timedelta(minutes=10))
    response = api.post(f"/api/v1/tasks/{task.pk}/reminders", {"type": "before", "offset_minutes": 30}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "offset_minutes", "message": "The reminder time would be in the past."}
    ]
    assert not Reminder.objects.exists()
    ok = api.post(f"/api/v1/tasks/{task.pk}/reminders", {"type": "before", "offset_minutes": 5}, format="json")
    assert ok.status_code == 201
