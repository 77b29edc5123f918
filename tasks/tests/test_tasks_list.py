"""GET /tasks: filters, ordering, pagination and query count (CONTRACT §0, §3)."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from model_bakery import baker

from tasks.models import Task

pytestmark = pytest.mark.django_db


def titles(response):
    assert response.status_code == 200, response.json()
    return [t["title"] for t in response.json()["data"]]


def listing(api, **params):
    return api.get("/api/v1/tasks", params)


def test_list_shape_pagination_and_only_own_tasks(api, make_task, other_user):
    for i in range(3):
        make_task(title=f"t{i}")
    make_task(owner=other_user, title="foreign")
    response = listing(api, limit=2)
    body = response.json()
    assert set(body) == {"data", "pagination"}
    assert body["pagination"] == {"offset": 0, "limit": 2, "total": 3, "has_more": True}
    assert len(body["data"]) == 2
    assert "subtasks" not in body["data"][0]
    second = listing(api, limit=2, offset=2).json()
    assert second["pagination"]["has_more"] is False
    assert {t["title"] for t in body["data"] + second["data"]} == {"t0", "t1", "t2"}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}])
def test_bad_pagination_is_400(api, params):
    assert listing(api, **params).status_code == 400


def test_default_ordering_is_newest_first(api, make_task):
    now = timezone.now()
    for i, title in enumerate(["old", "mid", "new"]):
        task = make_task(title=title)
        Task.objects.filter(pk=task.pk).update(created_at=now - timedelta(days=3 - i))
    assert titles(listing(api)) == ["new", "mid", "old"]


def test_subtask_counts_are_annotated(api, task, make_subtask):
    make_subtask(task, 4)
    task.subtasks.filter(order_index__in=[0, 2]).update(completed=True)
    data = listing(api).json()["data"][0]
    assert data["subtask_count"] == 4 and data["subtask_completed_count"] == 2


def test_filter_completed(api, make_task):
    make_task(title="open")
    make_task(title="done", completed=True)
    assert titles(listing(api, completed="true")) == ["done"]
    assert titles(listing(api, completed="false")) == ["open"]
    assert set(titles(listing(api))) == {"open", "done"}


def test_filter_priority(api, make_task):
    for p in ("low", "medium", "high"):
        make_task(title=p, priority=p)
    assert titles(listing(api, priority="high")) == ["high"]
    assert titles(listing(api, priority="low")) == ["low"]


def test_hidden_tasks_are_left_out_unless_asked_for(api, make_task):
    make_task(title="visible")
    make_task(title="secret", hidden=True)
    assert titles(listing(api)) == ["visible"]
    assert titles(listing(api, hidden="false")) == ["visible"]
    assert set(titles(listing(api, hidden="true"))) == {"visible", "secret"}


def test_archived_filter(api, make_task):
    make_task(title="live")
    make_task(title="boxed", archived=True)
    assert set(titles(listing(api))) == {"live", "boxed"}
    assert titles(listing(api, archived="true")) == ["boxed"]
    assert titles(listing(api, archived="false")) == ["live"]


def test_due_before_and_due_after_are_inclusive(api, make_task):
    base = timezone.now().replace(microsecond=0) + timedelta(days=1)
    make_task(title="d1", due_date=base)
    make_task(title="d2", due_date=base + timedelta(days=1))
    make_task(title="d3", due_date=base + timedelta(days=2))
    make_task(title="none")
    z = lambda d: d.isoformat().replace("+00:00", "Z")  # noqa: E731
    assert set(titles(listing(api, due_before=z(base + timedelta(days=1))))) == {"d1", "d2"}
    assert set(titles(listing(api, due_after=z(base + timedelta(days=1))))) == {"d2", "d3"}
    assert titles(listing(api, due_after=z(base), due_before=z(base))) == ["d1"]
    # Offsets and bare dates are accepted too.
    assert set(titles(listing(api, due_after=base.isoformat()))) == {"d1", "d2", "d3"}
    assert set(titles(listing(api, due_before=(base + timedelta(days=3)).date().isoformat()))) == {"d1", "d2", "d3"}
    # An offset PostgreSQL would refuse (Python allows up to ±23:59) is normalized to UTC.
    far = (base - timedelta(days=1)).astimezone(dt.timezone(-timedelta(hours=18, minutes=14)))
    assert set(titles(listing(api, due_after=far.isoformat()))) == {"d1", "d2", "d3"}


def test_template_id_filter(api, user, make_task):
    template = baker.make("tasks.TaskTemplate", user=user, rrule="FREQ=DAILY", dtstart=timezone.now())
    make_task(title="instance", template=template)
    make_task(title="plain")
    assert titles(listing(api, template_id=str(template.pk))) == ["instance"]
    assert titles(listing(api, template_id=str(uuid.uuid4()))) == []


def test_search_is_case_insensitive_on_title_and_description(api, make_task):
    make_task(title="Buy MILK")
    make_task(title="Call mom", description="about the milkshake")
    make_task(title="Other")
    assert set(titles(listing(api, search="milk"))) == {"Buy MILK", "Call mom"}
    assert titles(listing(api, search="OTHER")) == ["Other"]
    assert titles(listing(api, search="100%")) == []


def test_ordering_by_priority_is_low_medium_high(api, make_task):
    for p in ("medium", "high", "low"):
        make_task(title=p, priority=p)
    assert titles(listing(api, ordering="priority")) == ["low", "medium", "high"]
    assert titles(listing(api, ordering="-priority")) == ["high", "medium", "low"]


def test_ordering_by_several_fields(api, make_task):
    make_task(title="b", priority="high")
    make_task(title="a", priority="high")
    make_task(title="c", priority="low")
    assert titles(listing(api, ordering="-priority,title")) == ["a", "b", "c"]
    assert titles(listing(api, ordering="-priority,-title")) == ["b", "a", "c"]
    assert titles(listing(api, ordering="title")) == ["a", "b", "c"]
    assert titles(listing(api, ordering="-title")) == ["c", "b", "a"]


def test_ordering_by_due_date_puts_undated_last(api, make_task):
    now = timezone.now()
    make_task(title="later", due_date=now + timedelta(days=2))
    make_task(title="none")
    make_task(title="soon", due_date=now + timedelta(days=1))
    assert titles(listing(api, ordering="due_date")) == ["soon", "later", "none"]
    assert titles(listing(api, ordering="-due_date")) == ["later", "soon", "none"]


def test_ordering_by_timestamps(api, make_task):
    now = timezone.now()
    a, b = make_task(title="a"), make_task(title="b")
    Task.objects.filter(pk=a.pk).update(created_at=now - timedelta(days=1), updated_at=now)
    Task.objects.filter(pk=b.pk).update(created_at=now, updated_at=now - timedelta(days=1))
    assert titles(listing(api, ordering="created_at")) == ["a", "b"]
    assert titles(listing(api, ordering="updated_at")) == ["b", "a"]
    assert titles(listing(api, ordering="-updated_at")) == ["a", "b"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"completed": "maybe"}, "completed"),
        ({"completed": "1"}, "completed"),  # booleans are `true`/`false` only, everywhere
        ({"hidden": "yes please"}, "hidden"),
        ({"archived": "2"}, "archived"),
        ({"priority": "urgent"}, "priority"),
        ({"due_before": "next week"}, "due_before"),
        ({"due_after": "2026-13-45"}, "due_after"),
        ({"due_after": "9999-12-31T23:00:00-18:14"}, "due_after"),  # past year 9999 in UTC
        ({"template_id": "not-a-uuid"}, "template_id"),
        ({"ordering": "color"}, "ordering"),
        ({"ordering": "-title,password"}, "ordering"),
        ({"ordering": "title,-title"}, "ordering"),
        ({"ordering": "title,"}, "ordering"),
    ],
)
def test_unknown_filter_value_or_ordering_field_is_400(api, params, field):
    response = listing(api, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == field


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_costs_two_queries_whatever_the_page_size(api, user, page_size, django_assert_num_queries):
    tasks = baker.make("tasks.Task", user=user, _quantity=100, _bulk_create=True)
    for task in tasks[:10]:
        baker.make("tasks.Subtask", task=task, order_index=0)
    with django_assert_num_queries(1 + 1):  # token user + page with its total (COUNT(*) OVER ())
        response = listing(api, limit=page_size, ordering="-priority,due_date", search="", completed="false")
    assert response.status_code == 200
    assert len(response.json()["data"]) == page_size
