"""Strict parsing of the shared inputs: pagination numbers and time zone names (issue 9, item 9)."""

import pytest
from django.contrib.auth.models import Group

from perpetua.api.validators import is_iana_timezone

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]


@pytest.fixture
def groups():
    Group.objects.bulk_create(Group(name=f"g{i:02d}") for i in range(60))


@pytest.mark.parametrize("name", ["limit", "offset"])
@pytest.mark.parametrize(
    "raw",
    ["5_0", "\u0665", "\u06650", "+5", " 5", "5 ", "-1", "0x5", "1e2", "5.0", "\uff15", "9" * 19, "1" * 5000, "½"],
)
def test_pagination_numbers_are_ascii_digits_only(api, groups, name, raw):
    response = api.get("/api/v1/groups", {name: raw})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == name
    assert "sys." not in error["details"][0]["message"]


def test_plain_pagination_numbers_still_work(api, groups):
    body = api.get("/api/v1/groups", {"limit": "50", "offset": "05"}).json()
    assert body["pagination"] == {"offset": 5, "limit": 50, "total": 60, "has_more": True}
    assert body["data"][0] == "g05"
    assert api.get("/api/v1/groups", {"offset": "999999999999999999"}).json()["data"] == []


@pytest.mark.parametrize(
    "name", ["localtime", "Factory", "posixrules", "right/UTC", "posix/Europe/Paris", "Mars/Olympus"]
)
def test_names_that_are_no_iana_zone_are_refused(api, name):
    response = api.post("/api/v1/timezone", {"timezone": name}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"][0]["field"] == "timezone"


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "US/Eastern", "Etc/GMT+5"])
def test_iana_names_canonical_or_linked_are_accepted(api, name):
    response = api.post("/api/v1/timezone", {"timezone": name}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"timezone": name}


def test_is_iana_timezone_takes_strings_only():
    assert not is_iana_timezone(None)
    assert not is_iana_timezone(["UTC"])
