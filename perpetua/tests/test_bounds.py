"""What one hostile request can make us do and answer: bounded work, bounded error bodies (issue 9, item 2).

Against `perpetua.tests.urls`' `/lists` view, whose serializer has a plain DRF ListField,
a BoundedListField(max_length=100) and a `many=True` serializer.
"""

import json
import time

import pytest

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]

LISTS = "/api/v1/lists"


def post(api, body: dict | str):
    raw = body if isinstance(body, str) else json.dumps(body)
    started = time.monotonic()
    response = api.post(LISTS, raw, content_type="application/json")
    return response, time.monotonic() - started


def test_a_200k_item_list_is_refused_fast_with_a_small_body(api):
    response, elapsed = post(api, {"ids": ["x"] * 200_000})  # ~1 MB, just under the body limit
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "1000" in error["message"]
    assert len(response.content) < 2_000
    assert elapsed < 1.0


def test_an_error_lists_at_most_error_max_details_entries_and_says_more_were_cut(api):
    response, _ = post(api, {"ids": ["x"] * 1000})
    details = response.json()["error"]["details"]
    assert len(details) == 20
    assert details[0] == {"field": "ids[0]", "message": "Must be a valid UUID."}
    assert details[18] == {"field": "ids[18]", "message": "Must be a valid UUID."}
    assert "left out" in details[-1]["message"]
    assert len(response.content) < 3_000


def test_the_detail_cap_comes_from_the_setting(api, settings):
    settings.ERROR_MAX_DETAILS = 5
    details = post(api, {"ids": ["x"] * 50})[0].json()["error"]["details"]
    assert len(details) == 5
    assert "left out" in details[-1]["message"]


def test_a_bounded_list_is_refused_on_its_length_before_any_item_is_validated(api):
    response, _ = post(api, {"bounded_ids": ["x"] * 101})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "bounded_ids", "message": "Ensure this field has no more than 100 elements."}
    ]


def test_a_bounded_list_within_its_length_validates_its_items(api):
    response, _ = post(api, {"bounded_ids": ["x", "3f1e0d6c-6d5c-4c8e-9b1a-2f1e0d6c6d5c"]})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [{"field": "bounded_ids[0]", "message": "Must be a valid UUID."}]
    ok, _ = post(api, {"bounded_ids": ["3f1e0d6c-6d5c-4c8e-9b1a-2f1e0d6c6d5c"]})
    assert ok.status_code == 200, ok.content
    assert ok.json()["data"] == {"count": 1}


def test_a_bounded_list_refuses_a_string_or_an_object(api):
    for value in ("abc", {"a": 1}, 5):
        response, _ = post(api, {"bounded_ids": value})
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["field"] == "bounded_ids"


def test_many_invalid_nested_rows_are_capped_too(api):
    details = post(api, {"rows": [{"title": ""}] * 500})[0].json()["error"]["details"]
    assert len(details) == 20
    assert details[0] == {"field": "rows[0].title", "message": "This field may not be blank."}


def test_many_unknown_fields_are_capped(api):
    body = {f"unknown_{i:04d}": 1 for i in range(1000)}
    response, elapsed = post(api, body)
    details = response.json()["error"]["details"]
    assert len(details) == 20
    assert details[0] == {"field": "unknown_0000", "message": "Unknown field."}
    assert elapsed < 1.0


def test_long_field_names_and_messages_are_cut(api, settings):
    response, _ = post(api, {"u" * 50_000: 1})
    detail = response.json()["error"]["details"][0]
    assert detail["field"].startswith("uuu")
    assert len(detail["field"]) <= settings.ERROR_MESSAGE_MAX_LENGTH
    assert len(response.content) < 1_000


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"ids": [' + "1" * 5000 + "]}", "digits"),
        ('{"ids": [1e400]}', "out of range"),
        ('{"ids": [NaN]}', "not valid JSON"),
        ('{"ids": [1, }', "line 1, column"),
        ("\xff\xfe{}", "UTF-8"),
    ],
)
def test_body_errors_are_in_our_words_never_pythons(api, raw, words):
    body = raw.encode("latin-1") if raw.startswith("\xff") else raw
    response = api.post(LISTS, body, content_type="application/json")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert words in message
    for internal in ("sys.", "set_int_max_str_digits", "codec", "Expecting", "Exceeds the limit", "JSON parse error"):
        assert internal not in message
