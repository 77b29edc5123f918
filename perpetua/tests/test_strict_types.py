"""Strict JSON types and bounded date-times (issue 9, item 9): a string is not a number or a boolean,
a number is not a string, and a date-time lies in DATETIME_MIN_YEAR..DATETIME_MAX_YEAR.

Against `perpetua.tests.urls`: `/typed-model` saves an IdempotencyKey row through a serializer
whose fields `ModelSerializer` generates; `/typed-plain` echoes declared fields of the other types.
"""

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from perpetua.api.models import IdempotencyKey

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]

MODEL = "/api/v1/typed-model"
PLAIN = "/api/v1/typed-plain"
VALID = {
    "key": "3f1e0d6c-6d5c-4c8e-9b1a-2f1e0d6c6d5c",
    "fingerprint": "abc",
    "state": "complete",
    "status_code": 201,
    "replayable": False,
    "created_at": "2026-05-01T09:00:00Z",
}
STRING = "Must be a string."
INTEGER = "Must be an integer."
BOOLEAN = "Must be true or false."
DATETIME = "Must be an ISO 8601 date-time string, e.g. 2026-05-01T09:00:00Z."
IN_BOUNDS = "Must be a date-time in the years 2000 to 2100 (UTC)."


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.RATE_LIMIT_GENERAL = 0


def refused(response, field):
    """The error's message for `field`, after checking the response is the contract's 400."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    [detail] = error["details"]
    assert detail["field"] == field
    return detail["message"]


def test_the_right_json_types_are_stored(api, user):
    response = api.post(MODEL, VALID, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["data"] == {**VALID, "created_at": "2026-05-01T09:00:00.000Z"}
    row = IdempotencyKey.objects.get()
    assert (row.fingerprint, row.state, row.status_code, row.replayable) == ("abc", "complete", 201, False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fingerprint", 123, STRING),  # was stored as "123"
        ("fingerprint", 1.5, STRING),
        ("fingerprint", True, STRING),
        ("fingerprint", ["abc"], STRING),
        ("fingerprint", {"a": 1}, STRING),
        ("status_code", "5", INTEGER),  # "5" was 5
        ("status_code", 5.0, INTEGER),  # 5.0 was 5
        ("status_code", 5.5, INTEGER),
        ("status_code", True, INTEGER),  # true was 1
        ("status_code", "5_0", INTEGER),
        ("status_code", [5], INTEGER),
        ("replayable", "yes", BOOLEAN),  # "yes", "true", "1", 1 were true
        ("replayable", "true", BOOLEAN),
        ("replayable", "false", BOOLEAN),
        ("replayable", "1", BOOLEAN),
        ("replayable", 1, BOOLEAN),
        ("replayable", 0, BOOLEAN),
        ("replayable", "on", BOOLEAN),
        ("key", 5, "Must be a valid UUID."),  # 5 was UUID(int=5)
        ("key", "not-a-uuid", "Must be a valid UUID."),
        ("state", True, "Must be one of: in_flight, complete."),
        ("state", ["complete"], "Must be one of: in_flight, complete."),
        ("state", "COMPLETE", "Must be one of: in_flight, complete."),
        ("created_at", 1767225600, DATETIME),
        ("created_at", "yesterday", DATETIME),
    ],
)
def test_a_value_of_another_json_type_is_a_400_and_nothing_is_stored(api, field, value, message):
    assert refused(api.post(MODEL, {**VALID, field: value}, format="json"), field) == message
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",  # the due date
        "9999-12-31T23:59:59Z",  # the reminder
        "1999-12-31T23:59:59.999Z",
        "2101-01-01T00:00:00Z",
        "2100-12-31T23:30:00-01:00",  # 2101 in UTC
        "0001-01-01T00:30:00+01:00",  # before year 1 in UTC: beyond what datetime holds
        "9999-12-31T23:30:00-01:00",  # after year 9999 in UTC
    ],
)
def test_date_times_outside_the_years_2000_to_2100_are_a_400(api, value):
    assert refused(api.post(MODEL, {**VALID, "created_at": value}, format="json"), "created_at") == IN_BOUNDS
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2000-01-01T00:00:00Z", "2000-01-01T00:00:00.000Z"),
        ("2100-12-31T23:59:59.999Z", "2100-12-31T23:59:59.999Z"),
        ("2000-01-01T00:30:00-01:00", "2000-01-01T01:30:00.000Z"),
    ],
)
def test_the_bounds_themselves_are_accepted(api, value, stored):
    response = api.post(MODEL, {**VALID, "created_at": value}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["data"]["created_at"] == stored
    assert IdempotencyKey.objects.count() == 1


def test_the_bounds_come_from_the_settings(api, settings):
    settings.DATETIME_MIN_YEAR, settings.DATETIME_MAX_YEAR = 2020, 2030
    message = refused(api.post(MODEL, {**VALID, "created_at": "2031-01-01T00:00:00Z"}, format="json"), "created_at")
    assert message == "Must be a date-time in the years 2020 to 2030 (UTC)."
    assert api.post(MODEL, {**VALID, "created_at": "2030-06-01T00:00:00Z"}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("ratio", "0.5", "Must be a number."),
        ("ratio", True, "Must be a number."),
        ("level", "1", "Must be one of: 1, 2."),  # an integer choice is not its string
        ("level", True, "Must be one of: 1, 2."),
        ("code", 1, "Must be one of: 1, 2."),  # a string choice is not a number
        ("email", 5, STRING),
        ("url", 5, STRING),
        ("id", 5, "Must be a valid UUID."),
        ("count", "5", INTEGER),
        ("count", 5.0, INTEGER),
        ("flag", "true", BOOLEAN),
        ("name", 123, STRING),
        ("at", 0, DATETIME),
        ("at", "0001-01-01T00:00:00Z", IN_BOUNDS),
    ],
)
def test_declared_strict_fields_refuse_other_json_types(api, field, value, message):
    assert refused(api.post(PLAIN, {field: value}, format="json"), field) == message


def test_declared_strict_fields_take_their_own_json_types(api):
    body = {
        "ratio": 1,
        "level": 2,
        "code": "2",
        "email": "a@example.com",
        "url": "https://example.com/x",
        "id": "3f1e0d6c-6d5c-4c8e-9b1a-2f1e0d6c6d5c",
        "count": 0,
        "flag": True,
        "name": "x",
        "at": "2026-05-01T09:00:00+02:00",
    }
    response = api.post(PLAIN, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {**body, "ratio": 1.0, "at": "2026-05-01T07:00:00.000Z"}


def test_messages_do_not_echo_the_input(api):
    """DRF's `"<input>" is not a valid choice.` would repeat a 1 MB string back."""
    message = refused(api.post(MODEL, {**VALID, "state": "x" * 100_000}, format="json"), "state")
    assert message == "Must be one of: in_flight, complete."


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
WRONG_TYPE = {
    "fingerprint": JSON.filter(lambda v: not isinstance(v, str)),
    "status_code": JSON.filter(lambda v: v is not None and (isinstance(v, bool) or not isinstance(v, int))),
    "replayable": JSON.filter(lambda v: not isinstance(v, bool)),
    "key": JSON.filter(lambda v: not isinstance(v, str)),
    "created_at": JSON.filter(lambda v: not isinstance(v, str)),
}


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(sorted(WRONG_TYPE)).flatmap(lambda f: st.tuples(st.just(f), WRONG_TYPE[f])))
def test_no_json_value_of_another_type_is_taken(api, case):
    field, value = case
    refused(api.post(MODEL, {**VALID, field: value}, format="json"), field)
    assert not IdempotencyKey.objects.exists()
