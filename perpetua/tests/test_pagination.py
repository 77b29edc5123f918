"""A page and its total in one statement (COUNT(*) OVER ()), and the cases that need a count."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perpetua.api.pagination import TOTAL_ALIAS, paginate

pytestmark = pytest.mark.urls("perpetua.tests.urls")


@pytest.fixture
def groups(db):
    return Group.objects.bulk_create([Group(name=f"group {i:02d}") for i in range(30)])


def _get(api, **params):
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/groups", params)
    return response, [q["sql"] for q in queries]


def test_a_page_and_its_total_are_one_query(api, groups):
    response, queries = _get(api, limit=10, offset=5)

    assert response.status_code == 200
    body = response.json()
    assert body["data"] == [f"group {i:02d}" for i in range(5, 15)]
    assert body["pagination"] == {"offset": 5, "limit": 10, "total": 30, "has_more": True}
    page_queries = [sql for sql in queries if "auth_group" in sql]
    assert len(page_queries) == 1 and "COUNT(*) OVER ()" in page_queries[0]


def test_the_last_page_says_there_is_no_more(api, groups):
    body = _get(api, limit=10, offset=25)[0].json()
    assert len(body["data"]) == 5
    assert body["pagination"] == {"offset": 25, "limit": 10, "total": 30, "has_more": False}


def test_past_the_end_the_total_comes_from_a_count(api, groups):
    response, queries = _get(api, limit=10, offset=40)
    assert response.json() == {"data": [], "pagination": {"offset": 40, "limit": 10, "total": 30, "has_more": False}}
    assert len([sql for sql in queries if "auth_group" in sql]) == 2  # the empty page, then COUNT(*)


def test_an_empty_list_needs_no_count(api, db):
    response, queries = _get(api)
    assert response.json()["pagination"] == {"offset": 0, "limit": 25, "total": 0, "has_more": False}
    assert len([sql for sql in queries if "auth_group" in sql]) == 1


def test_rows_do_not_carry_the_total(groups):
    page, total = paginate(Group.objects.order_by("name"), offset=0, limit=2)
    assert total == 30
    assert all(not hasattr(group, TOTAL_ALIAS) for group in page)
    rows, total = paginate(Group.objects.order_by("name").values("name"), offset=0, limit=2)
    assert (rows, total) == ([{"name": "group 00"}, {"name": "group 01"}], 30)


def test_distinct_rows_are_counted_once(groups):
    """A join that repeats a group, made DISTINCT: a window would count the repeats."""
    permissions = list(Permission.objects.order_by("pk")[:3])
    for group in groups[:4]:
        group.permissions.set(permissions)
    queryset = Group.objects.filter(permissions__in=permissions).distinct().order_by("name")

    page, total = paginate(queryset, offset=0, limit=3)

    assert total == 4
    assert [group.name for group in page] == ["group 00", "group 01", "group 02"]


def test_values_list_and_plain_lists_are_paginated_too(groups):
    assert paginate(Group.objects.order_by("name").values_list("name", flat=True), offset=28, limit=5) == (
        ["group 28", "group 29"],
        30,
    )
    assert paginate([1, 2, 3], offset=1, limit=1) == ([2], 3)
