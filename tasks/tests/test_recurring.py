"""Recurring templates (CONTRACT §5): CRUD, RRULE validation, generation, recurrence edits."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from model_bakery import baker

from perpetua.api.serializers import format_datetime
from recovery.models import ActivityEntry
from tasks.models import Task, TaskTemplate
from tasks.services import recurring

pytestmark = pytest.mark.django_db

TEMPLATE_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "priority",
    "estimated_duration",
    "rrule",
    "dtstart",
    "next_due",
    "active",
    "created_at",
    "updated_at",
}
UTC = dt.UTC


def iso(value: dt.datetime) -> str:
    return format_datetime(value)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def create(client, **body):
    body.setdefault("title", "Water the plants")
    body.setdefault("rrule", "FREQ=DAILY")
    response = client.post("/api/v1/templates", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def generate(client, template_id):
    return client.post(f"/api/v1/templates/{template_id}/generate", format="json")


def complete(client, task_id):
    version = Task.objects.get(pk=task_id).version
    response = client.patch(f"/api/v1/tasks/{task_id}", {"version": version, "completed": True}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def open_instances(template_id):
    return list(Task.objects.filter(template_id=template_id, completed=False).order_by("due_date"))


# --- create / read ----------------------------------------------------------------------------


def test_create_template_with_defaults(api, user):
    before = timezone.now().replace(microsecond=0)
    data = create(api, title="  Stand-up notes  ", rrule="FREQ=DAILY")
    assert set(data) == TEMPLATE_FIELDS
    assert data["title"] == "Stand-up notes"
    assert data["user_id"] == str(user.pk)
    assert data["description"] == "" and data["priority"] == "medium" and data["estimated_duration"] is None
    assert data["rrule"] == "FREQ=DAILY"
    assert data["active"] is True
    dtstart = dt.datetime.fromisoformat(data["dtstart"])
    assert before <= dtstart <= timezone.now()
    # dtstart (= now) is not "after now": the first instance is due one day later.
    assert data["next_due"] == iso(dtstart + timedelta(days=1))
    assert data["created_at"].endswith("Z")
    assert ActivityEntry.objects.filter(entity_type="template", entity_id=data["id"], action="created").exists()


def test_create_template_with_all_fields_and_future_anchor(api):
    data = create(
        api,
        title="Review",
        description="Weekly review",
        priority="high",
        estimated_duration=30,
        rrule="RRULE:freq=weekly;byday=mo",
        dtstart="2030-01-07T09:00:00Z",
    )
    assert data["rrule"] == "FREQ=WEEKLY;BYDAY=MO"  # prefix dropped, normalized
    assert data["dtstart"] == "2030-01-07T09:00:00.000Z"
    assert data["next_due"] == "2030-01-07T09:00:00.000Z"  # the anchor is the first occurrence
    assert data["priority"] == "high" and data["estimated_duration"] == 30


def test_past_anchor_next_due_is_first_occurrence_after_now(api):
    anchor = timezone.now().replace(microsecond=0) - timedelta(days=10, hours=1)
    data = create(api, rrule="FREQ=DAILY", dtstart=iso(anchor))
    next_due = dt.datetime.fromisoformat(data["next_due"])
    assert timezone.now() < next_due <= timezone.now() + timedelta(days=1)
    assert (next_due - anchor) % timedelta(days=1) == timedelta(0)


@pytest.mark.parametrize(
    ("rrule", "message"),
    [
        ("FREQ=FOO", "FREQ is required and must be one of DAILY, WEEKLY, MONTHLY, YEARLY."),
        ("FREQ=DAILY;COUNT=x", "COUNT must be a comma-separated list of whole numbers from 1 to 100000."),
        ("FREQ=DAILY;BYDAY=XX", "BYDAY must be a comma-separated list of MO, TU, WE, TH, FR, SA, SU (e.g. MO,-1FR)."),
        ("FREQ=DAILY;X-FOO=1", "X-FOO not supported: the time of day comes from dtstart (supported: FREQ, INTERVAL, "
         "COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST)."),
        ("FREQ=DAILY;UNTIL=20300101", "UNTIL must be a UTC date-time such as 20301231T235959Z."),
    ],
)  # fmt: skip
def test_invalid_rrule_is_400_with_the_parser_message(api, rrule, message):
    response = api.post("/api/v1/templates", {"title": "t", "rrule": rrule}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"] == [{"field": "rrule", "message": message}]


@pytest.mark.parametrize(
    "rrule",
    [
        "",
        "BYDAY=MO",
        "FREQ=DAILY\nRRULE:FREQ=WEEKLY",
        "DTSTART:20300101T000000Z\nRRULE:FREQ=DAILY",
        "FREQ=DAILY\nEXDATE:20300102T000000Z",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=-1",
        "FREQ=DAILY;COUNT=0",
        "FREQ=MINUTELY",
        "FREQ=SECONDLY",
        "FREQ=DAILY;BYHOUR=5",
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTH=13",
        "FREQ=DAILY;BYSETPOS=2",
        "FREQ=WEEKLY;BYDAY=1MO",
    ],
)
def test_rules_that_are_not_one_usable_rrule_are_refused(api, rrule):
    response = api.post("/api/v1/templates", {"title": "t", "rrule": rrule}, format="json")
    assert response.status_code == 400, rrule
    assert response.json()["error"]["details"][0]["field"] == "rrule"


def test_create_validation_errors(api):
    cases = [
        ({"rrule": "FREQ=DAILY"}, "title"),
        ({"title": " ", "rrule": "FREQ=DAILY"}, "title"),
        ({"title": "t"}, "rrule"),
        ({"title": "t", "rrule": "FREQ=DAILY", "priority": "urgent"}, "priority"),
        ({"title": "t", "rrule": "FREQ=DAILY", "estimated_duration": 0}, "estimated_duration"),
        ({"title": "t", "rrule": "FREQ=DAILY", "description": "d" * 1001}, "description"),
        ({"title": "t", "rrule": "FREQ=DAILY", "dtstart": "soon"}, "dtstart"),
        ({"title": "t", "rrule": "FREQ=DAILY", "color": "red"}, "color"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/templates", body, format="json")
        assert response.status_code == 400, body
        assert field in {d["field"] for d in response.json()["error"]["details"]}, body


def test_rule_without_future_occurrence_is_refused(api):
    dtstart = iso(timezone.now() - timedelta(days=30))
    body = {"title": "t", "rrule": "FREQ=DAILY;COUNT=2", "dtstart": dtstart}
    response = api.post("/api/v1/templates", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "rrule"
    assert not TaskTemplate.objects.exists()


def test_exhausted_template_cannot_generate(api):
    data = create(api)
    TaskTemplate.objects.filter(pk=data["id"]).update(active=False, next_due=None)
    response = generate(api, data["id"])
    assert response.status_code == 409 and response.json()["error"]["code"] == "CONFLICT"


def test_list_templates_paginated_own_only_and_filtered(api, other_api, django_assert_num_queries):
    for i in range(3):
        create(api, title=f"mine {i}")
    create(other_api, title="theirs")
    inactive = create(api, rrule="FREQ=DAILY")
    assert api.patch(f"/api/v1/templates/{inactive['id']}", {"active": False}, format="json").status_code == 200

    response = api.get("/api/v1/templates?limit=2")
    body = response.json()
    assert response.status_code == 200
    assert body["pagination"] == {"offset": 0, "limit": 2, "total": 4, "has_more": True}
    assert body["data"][0]["id"] == inactive["id"]  # newest first
    assert all(set(t) == TEMPLATE_FIELDS for t in body["data"])

    assert api.get("/api/v1/templates?active=false").json()["pagination"]["total"] == 1
    assert api.get("/api/v1/templates?active=true").json()["pagination"]["total"] == 3
    assert api.get("/api/v1/templates?active=0").status_code == 400
    bad = api.get("/api/v1/templates?active=maybe")
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "active"


def test_list_query_count_is_constant(api, user, django_assert_max_num_queries):
    baker.make(TaskTemplate, user=user, rrule="FREQ=DAILY", dtstart=timezone.now(), _quantity=30, _bulk_create=True)
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/templates?limit=100")
    assert len(response.json()["data"]) == 30


def test_retrieve_own_other_and_missing(api, other_api):
    data = create(api)
    response = api.get(f"/api/v1/templates/{data['id']}")
    assert response.status_code == 200 and response.json()["data"] == data
    forbidden = other_api.get(f"/api/v1/templates/{data['id']}")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
    missing = api.get("/api/v1/templates/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


# --- update / delete ----------------------------------------------------------------------------


def test_patch_fields_and_rule(api):
    data = create(api, rrule="FREQ=DAILY", dtstart="2030-01-01T08:00:00Z")
    response = api.patch(
        f"/api/v1/templates/{data['id']}",
        {"title": "New title", "priority": "low", "rrule": "FREQ=WEEKLY;BYDAY=FR"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    updated = response.json()["data"]
    assert updated["title"] == "New title" and updated["priority"] == "low"
    assert updated["rrule"] == "FREQ=WEEKLY;BYDAY=FR"
    assert updated["next_due"] == "2030-01-04T08:00:00.000Z"  # first Friday from the anchor
    assert ActivityEntry.objects.filter(entity_type="template", entity_id=data["id"], action="updated").exists()

    moved = api.patch(f"/api/v1/templates/{data['id']}", {"dtstart": "2030-02-01T10:30:00Z"}, format="json")
    assert moved.json()["data"]["next_due"] == "2030-02-01T10:30:00.000Z"


def test_patch_errors(api, other_api):
    data = create(api)
    url = f"/api/v1/templates/{data['id']}"
    bad_rule = api.patch(url, {"rrule": "FREQ=NEVER"}, format="json")
    assert bad_rule.status_code == 400
    assert bad_rule.json()["error"]["details"] == [
        {"field": "rrule", "message": "FREQ is required and must be one of DAILY, WEEKLY, MONTHLY, YEARLY."}
    ]
    assert api.patch(url, {"color": "red"}, format="json").status_code == 400
    assert api.patch(url, {"title": None}, format="json").status_code == 400
    assert other_api.patch(url, {"title": "x"}, format="json").status_code == 403
    missing = api.patch("/api/v1/templates/00000000-0000-4000-8000-000000000000", {"title": "x"}, format="json")
    assert missing.status_code == 404
    assert TaskTemplate.objects.get(pk=data["id"]).rrule == "FREQ=DAILY"


def test_pause_and_resume(api):
    data = create(api, dtstart="2030-01-01T08:00:00Z")
    url = f"/api/v1/templates/{data['id']}"
    paused = api.patch(url, {"active": False}, format="json").json()["data"]
    assert paused["active"] is False
    assert generate(api, data["id"]).status_code == 409
    # a rule edit keeps a paused template paused
    assert api.patch(url, {"rrule": "FREQ=WEEKLY"}, format="json").json()["data"]["active"] is False
    resumed = api.patch(url, {"active": True}, format="json").json()["data"]
    assert resumed["active"] is True and resumed["next_due"] == "2030-01-01T08:00:00.000Z"
    # an exhausted rule cannot be resumed (it ran out after it was stored: a client's rule without a
    # next occurrence is a 400)
    api.patch(url, {"active": False}, format="json")
    TaskTemplate.objects.filter(pk=data["id"]).update(
        rrule="FREQ=DAILY;COUNT=1", dtstart=timezone.now() - timedelta(days=3)
    )
    refused = api.patch(url, {"active": True}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["field"] == "active"


def test_delete_keeps_instances_with_null_template(api, other_api):
    data = create(api)
    instance = generate(api, data["id"]).json()["data"]
    assert other_api.delete(f"/api/v1/templates/{data['id']}").status_code == 403
    response = api.delete(f"/api/v1/templates/{data['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": data["id"], "deleted": True}}
    assert not TaskTemplate.objects.filter(pk=data["id"]).exists()
    task = Task.objects.get(pk=instance["id"])
    assert task.template_id is None and task.version == instance["version"] + 1
    assert api.get(f"/api/v1/templates/{data['id']}").status_code == 404
    assert api.delete(f"/api/v1/templates/{data['id']}").status_code == 404
    assert ActivityEntry.objects.filter(entity_type="template", entity_id=data["id"], action="deleted").exists()


# --- generate -------------------------------------------------------------------------------------


def test_generate_creates_the_next_instance_and_advances(api, user):
    data = create(
        api, title="Pay rent", description="Landlord", priority="high", estimated_duration=10,
        rrule="FREQ=MONTHLY;BYMONTHDAY=1", dtstart="2030-01-01T09:00:00Z",
    )  # fmt: skip
    response = generate(api, data["id"])
    assert response.status_code == 201, response.json()
    task = response.json()["data"]
    assert task["template_id"] == data["id"]
    assert task["title"] == "Pay rent" and task["description"] == "Landlord"
    assert task["priority"] == "high" and task["estimated_duration"] == 10
    assert task["due_date"] == "2030-01-01T09:00:00.000Z"
    assert task["completed"] is False and task["version"] == 1
    template = api.get(f"/api/v1/templates/{data['id']}").json()["data"]
    assert template["next_due"] == "2030-02-01T09:00:00.000Z"
    entry = ActivityEntry.objects.get(entity_type="task", entity_id=task["id"], action="created")
    assert entry.metadata["template_id"] == data["id"]


def test_generate_conflicts_while_an_instance_is_open(api):
    data = create(api, dtstart="2030-01-01T09:00:00Z")
    assert generate(api, data["id"]).status_code == 201
    again = generate(api, data["id"])
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    assert len(open_instances(data["id"])) == 1


def test_generate_skips_missed_occurrences(api, user):
    data = create(api, rrule="FREQ=DAILY", dtstart="2030-01-01T09:00:00Z")
    TaskTemplate.objects.filter(pk=data["id"]).update(next_due=timezone.now() - timedelta(days=3))
    task = generate(api, data["id"]).json()["data"]
    due = dt.datetime.fromisoformat(task["due_date"])
    assert timezone.now() - timedelta(seconds=5) <= due  # not three days overdue


def test_generate_errors(api, other_api, settings, user):
    data = create(api, dtstart="2030-01-01T09:00:00Z")
    assert generate(other_api, data["id"]).status_code == 403
    assert generate(api, "00000000-0000-4000-8000-000000000000").status_code == 404
    bad_body = api.post(f"/api/v1/templates/{data['id']}/generate", {"x": 1}, format="json")
    assert bad_body.status_code == 400

    settings.FREE_MAX_TASKS = 2
    baker.make(Task, user=user, _quantity=2)
    limited = generate(api, data["id"])
    assert limited.status_code == 409 and limited.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert open_instances(data["id"]) == []


# --- completion generates the next instance -------------------------------------------------------


def _chain(client, template_id, steps):
    """Generate the first instance, then complete `steps` times; the due dates seen."""
    task = generate(client, template_id).json()["data"]
    dues = [task["due_date"]]
    for _ in range(steps):
        complete(client, task["id"])
        following = open_instances(template_id)
        if not following:
            break
        assert len(following) == 1
        task = {"id": str(following[0].pk)}
        dues.append(iso(following[0].due_date))
    return dues


def test_daily_rule_next_instance(api):
    data = create(api, rrule="FREQ=DAILY", dtstart="2030-03-01T07:15:00Z")
    assert _chain(api, data["id"], 2) == [
        "2030-03-01T07:15:00.000Z",
        "2030-03-02T07:15:00.000Z",
        "2030-03-03T07:15:00.000Z",
    ]
    template = TaskTemplate.objects.get(pk=data["id"])
    assert template.next_due == at(2030, 3, 4, 7, 15)


def test_weekly_byday_next_instances(api):
    data = create(api, rrule="FREQ=WEEKLY;BYDAY=MO,WE", dtstart="2030-01-07T09:00:00Z")  # a Monday
    assert _chain(api, data["id"], 3) == [
        "2030-01-07T09:00:00.000Z",
        "2030-01-09T09:00:00.000Z",
        "2030-01-14T09:00:00.000Z",
        "2030-01-16T09:00:00.000Z",
    ]


def test_monthly_bymonthday_next_instances_skip_short_months(api):
    data = create(api, rrule="FREQ=MONTHLY;BYMONTHDAY=31", dtstart="2030-01-01T12:00:00Z")
    assert _chain(api, data["id"], 2) == [
        "2030-01-31T12:00:00.000Z",
        "2030-03-31T12:00:00.000Z",
        "2030-05-31T12:00:00.000Z",
    ]


def test_count_limited_rule_ends_and_deactivates(api):
    data = create(api, rrule="FREQ=DAILY;COUNT=2", dtstart="2030-01-01T09:00:00Z")
    dues = _chain(api, data["id"], 3)
    assert dues == ["2030-01-01T09:00:00.000Z", "2030-01-02T09:00:00.000Z"]
    template = api.get(f"/api/v1/templates/{data['id']}").json()["data"]
    assert template["active"] is False and template["next_due"] is None
    assert Task.objects.filter(template_id=data["id"]).count() == 2
    assert open_instances(data["id"]) == []
    assert generate(api, data["id"]).status_code == 409


def test_until_limited_rule_ends(api):
    data = create(api, rrule="FREQ=WEEKLY;UNTIL=20300115T000000Z", dtstart="2030-01-01T09:00:00Z")
    assert _chain(api, data["id"], 5) == ["2030-01-01T09:00:00.000Z", "2030-01-08T09:00:00.000Z"]
    assert TaskTemplate.objects.get(pk=data["id"]).active is False


def test_occurrences_follow_the_owner_timezone_across_dst(make_user, client_for):
    owner = make_user(timezone="Europe/Paris")
    client = client_for(owner)
    # 09:00 in Paris: 08:00Z in winter (CET), 07:00Z in summer (CEST, from 2030-03-31).
    data = create(client, rrule="FREQ=WEEKLY", dtstart="2030-03-24T08:00:00Z")
    assert _chain(client, data["id"], 1) == ["2030-03-24T08:00:00.000Z", "2030-03-31T07:00:00.000Z"]


def test_completion_does_not_duplicate_when_an_instance_is_open(api, user):
    data = create(api, dtstart="2030-01-01T09:00:00Z")
    first = generate(api, data["id"]).json()["data"]
    template = TaskTemplate.objects.get(pk=data["id"])
    baker.make(Task, user=user, template=template, title="also open", due_date=at(2030, 1, 5))
    complete(api, first["id"])
    assert Task.objects.filter(template_id=data["id"]).count() == 2  # nothing new


def test_completing_twice_after_reopen_does_not_duplicate(api):
    data = create(api, dtstart="2030-01-01T09:00:00Z")
    first = generate(api, data["id"]).json()["data"]
    complete(api, first["id"])
    version = Task.objects.get(pk=first["id"]).version
    api.patch(f"/api/v1/tasks/{first['id']}", {"version": version, "completed": False}, format="json")
    complete(api, first["id"])
    assert Task.objects.filter(template_id=data["id"]).count() == 2


def test_completion_generation_failure_keeps_the_completion(api, user, settings, django_capture_on_commit_callbacks):
    """The limit is reached by other tasks: completion succeeds, generation is retried."""
    data = create(api, dtstart="2030-01-01T09:00:00Z")
    first = generate(api, data["id"]).json()["data"]
    settings.FREE_MAX_TASKS = 3
    baker.make(Task, user=user, _quantity=3)  # over the limit once `first` is completed
    with django_capture_on_commit_callbacks(execute=True):
        body = complete(api, first["id"])
    assert body["data"]["completed"] is True
    assert Task.objects.get(pk=first["id"]).completed is True
    assert open_instances(data["id"]) == []
    job = DBTaskResult.objects.get(task_path="tasks.services.recurring.template_generate_next_job")
    assert job.args_kwargs == {"args": [data["id"], "2030-01-01T09:00:00+00:00"], "kwargs": {}}
    assert job.run_after > timezone.now()


def test_instance_of_deleted_template_completes_quietly(api):
    data = create(api, dtstart="2030-01-01T09:00:00Z")
    first = generate(api, data["id"]).json()["data"]
    task = Task.objects.get(pk=first["id"])
    TaskTemplate.objects.filter(pk=data["id"]).update(active=False)
    recurring.template_after_instance_completed(task=task)
    assert Task.objects.filter(template_id=data["id"]).count() == 1


# --- editing recurrence from an instance ----------------------------------------------------------


def _instance(client, **template_fields):
    data = create(client, **template_fields)
    task = generate(client, data["id"]).json()["data"]
    return data, task


def patch_recurrence(client, task, rrule, scope):
    version = Task.objects.get(pk=task["id"]).version
    return client.patch(
        f"/api/v1/tasks/{task['id']}", {"version": version, "rrule": rrule, "scope": scope}, format="json"
    )


def test_scope_template_changes_only_the_template(api):
    data, task = _instance(api, rrule="FREQ=DAILY", dtstart="2030-01-07T09:00:00Z")
    response = patch_recurrence(api, task, "FREQ=WEEKLY;BYDAY=FR", "template")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["due_date"] == "2030-01-07T09:00:00.000Z"  # unchanged
    template = TaskTemplate.objects.get(pk=data["id"])
    assert template.rrule == "FREQ=WEEKLY;BYDAY=FR"
    assert template.next_due == at(2030, 1, 11, 9)  # first Friday after the open instance
    assert Task.objects.get(pk=task["id"]).due_date == at(2030, 1, 7, 9)


def test_scope_future_moves_open_instances_not_yet_due(api, user):
    data, task = _instance(api, rrule="FREQ=DAILY", dtstart="2030-01-07T09:00:00Z")
    template = TaskTemplate.objects.get(pk=data["id"])
    other = baker.make(Task, user=user, template=template, title="other open", due_date=at(2030, 1, 8, 9))
    past = baker.make(Task, user=user, template=template, title="overdue", due_date=timezone.now() - timedelta(hours=1))
    response = patch_recurrence(api, task, "FREQ=WEEKLY;BYDAY=FR", "future")
    assert response.status_code == 200, response.json()
    body = response.json()["data"]
    assert body["due_date"] == "2030-01-11T09:00:00.000Z"
    assert body["version"] == task["version"] + 1  # one write, one increment
    assert Task.objects.get(pk=task["id"]).due_date == at(2030, 1, 11, 9)
    other.refresh_from_db()
    assert other.due_date == at(2030, 1, 11, 9) and other.version == 2
    past.refresh_from_db()
    assert past.due_date < timezone.now() and past.version == 1  # already due: untouched
    template.refresh_from_db()
    assert template.rrule == "FREQ=WEEKLY;BYDAY=FR" and template.next_due == at(2030, 1, 18, 9)


def test_scope_future_reschedules_relative_reminders(api):
    _, task = _instance(api, rrule="FREQ=DAILY", dtstart="2030-01-07T09:00:00Z")
    api.post(f"/api/v1/tasks/{task['id']}/reminders", {"type": "before", "offset_minutes": -30}, format="json")
    assert patch_recurrence(api, task, "FREQ=WEEKLY;BYDAY=FR", "future").status_code == 200
    reminder = Task.objects.get(pk=task["id"]).reminders.get()
    assert reminder.scheduled_at == at(2030, 1, 11, 8, 30)


def test_recurrence_edit_conflicts_on_completed_or_past_instance(api, user):
    data, task = _instance(api, dtstart="2030-01-07T09:00:00Z")
    complete(api, task["id"])
    done = patch_recurrence(api, task, "FREQ=WEEKLY", "future")
    assert done.status_code == 409 and done.json()["error"]["code"] == "CONFLICT"

    template = TaskTemplate.objects.get(pk=data["id"])
    overdue = baker.make(
        Task, user=user, template=template, title="overdue", due_date=timezone.now() - timedelta(minutes=1)
    )
    past = patch_recurrence(api, {"id": str(overdue.pk)}, "FREQ=WEEKLY", "template")
    assert past.status_code == 409 and past.json()["error"]["code"] == "CONFLICT"
    template.refresh_from_db()
    assert template.rrule == "FREQ=DAILY"
    overdue.refresh_from_db()
    assert overdue.version == 1  # nothing changed


def test_recurrence_edit_validation(api, task):
    _, instance = _instance(api, dtstart="2030-01-07T09:00:00Z")
    bad = patch_recurrence(api, instance, "FREQ=NOPE", "future")
    assert bad.status_code == 400
    assert bad.json()["error"]["details"] == [
        {"field": "rrule", "message": "FREQ is required and must be one of DAILY, WEEKLY, MONTHLY, YEARLY."}
    ]
    assert Task.objects.get(pk=instance["id"]).version == 1  # rolled back with the task update
    assert patch_recurrence(api, instance, "FREQ=WEEKLY", "everything").status_code == 400
    not_an_instance = patch_recurrence(api, {"id": str(task.pk)}, "FREQ=WEEKLY", "future")
    assert not_an_instance.status_code == 400


def test_recurrence_edit_service_directly(user):
    template = recurring.template_create(user=user, title="t", rrule="FREQ=DAILY", dtstart=at(2030, 1, 7, 9))
    task = recurring.template_generate(user=user, template_id=template.pk)
    recurring.template_edit_recurrence_from_instance(task=task, rrule="FREQ=WEEKLY;BYDAY=TU", scope="future")
    assert task.due_date == at(2030, 1, 8, 9)
    with pytest.raises(Exception) as excinfo:
        recurring.template_edit_recurrence_from_instance(task=task, rrule="FREQ=WEEKLY", scope="sometimes")
    assert excinfo.value.status_code == 400


def test_recurrence_of_a_completed_instance_cannot_be_edited_by_reopening_in_the_same_patch(api):
    data, task = _instance(api, rrule="FREQ=DAILY", dtstart="2030-01-07T09:00:00Z")
    complete(api, task["id"])
    version = Task.objects.get(pk=task["id"]).version
    response = api.patch(
        f"/api/v1/tasks/{task['id']}",
        {"version": version, "completed": False, "rrule": "FREQ=WEEKLY", "scope": "template"},
        format="json",
    )
    assert response.status_code == 409
    assert TaskTemplate.objects.get(pk=data["id"]).rrule == "FREQ=DAILY"
    assert Task.objects.get(pk=task["id"]).completed is True  # nothing of the PATCH applied


@pytest.mark.parametrize("rrule", ["FREQ=DAILY", "FREQ=DAILY;COUNT=100000"])
def test_anchors_outside_the_bounds_are_refused_whatever_the_rule(api, settings, rrule):
    """COUNT used to exempt a rule from the anchor-age bound; now nothing does (issue 9 item 1)."""
    old = iso(timezone.now() - timedelta(days=settings.TEMPLATE_DTSTART_MAX_DAYS, minutes=1))
    far = iso(timezone.now() + timedelta(days=settings.TEMPLATE_DTSTART_MAX_AHEAD_DAYS, minutes=1))
    for dtstart in (old, far):
        response = api.post("/api/v1/templates", {"title": "t", "rrule": rrule, "dtstart": dtstart}, format="json")
        assert response.status_code == 400, dtstart
        assert response.json()["error"]["details"] == [
            {"field": "dtstart", "message": "Must be at most 366 days in the past and 1830 days in the future."}
        ]
    assert not TaskTemplate.objects.exists()
    inside = iso(timezone.now() - timedelta(days=settings.TEMPLATE_DTSTART_MAX_DAYS - 1))
    assert create(api, rrule=rrule, dtstart=inside)["active"] is True


@pytest.mark.parametrize("dtstart", ["0001-01-01T00:00:00Z", "9999-12-31T20:00:00Z"])
def test_anchors_at_the_ends_of_the_calendar_are_a_400_not_a_crash(api, user, dtstart):
    user.timezone = "Asia/Tokyo" if dtstart.startswith("9999") else "America/New_York"
    user.save(update_fields=["timezone"])
    body = {"title": "t", "rrule": "FREQ=DAILY;COUNT=2", "dtstart": dtstart}
    response = api.post("/api/v1/templates", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "dtstart"


def test_hourly_rules_are_refused(api):
    response = api.post("/api/v1/templates", {"title": "t", "rrule": "FREQ=HOURLY"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "rrule"
