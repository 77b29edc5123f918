"""The orjson renderer writes what DRF's JSONRenderer wrote, timestamps in the contract's format."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
import zoneinfo

import pytest
from django.utils.functional import lazy
from rest_framework import renderers

from perpetua.api.renderers import JSONRenderer

pytestmark = pytest.mark.urls("perpetua.tests.urls")


def render(data, media_type="application/json"):
    return JSONRenderer().render(data, media_type, {})


def test_plain_data_is_byte_for_byte_what_drf_wrote():
    data = {
        "data": [
            {"id": str(uuid.uuid4()), "title": 'Zoë ✓ "quoted" \\ \n', "n": 3, "x": 1.5, "ok": True, "none": None}
        ],
        "pagination": {"offset": 0, "limit": 25, "total": 1, "has_more": False},
    }
    assert render(data) == renderers.JSONRenderer().render(data, "application/json", {})


def test_datetimes_are_utc_with_milliseconds_and_z():
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    data = {
        "at": dt.datetime(2026, 3, 1, 13, 4, 5, 678901, tzinfo=paris),
        "whole": dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 3, 1),
    }
    assert json.loads(render(data)) == {
        "at": "2026-03-01T12:04:05.678Z",
        "whole": "2026-03-01T12:00:00.000Z",
        "day": "2026-03-01",
    }


def test_what_orjson_does_not_know_goes_through_drfs_encoder():
    text = lazy(lambda: "lazy text", str)()
    data = {
        "price": decimal.Decimal("9.90"),
        "text": text,
        "id": uuid.UUID(int=1),
        7: "int key",
        "gen": (i for i in [1]),
    }
    assert json.loads(render(data)) == {
        "price": 9.9,  # as DRF's encoder writes a bare Decimal
        "text": "lazy text",
        "id": "00000000-0000-0000-0000-000000000001",
        "7": "int key",
        "gen": [1],
    }


def test_line_separators_are_escaped_as_drf_does():
    assert render({"t": "a\u2028b\u2029c"}) == b'{"t":"a\\u2028b\\u2029c"}'


def test_what_orjson_refuses_is_rendered_by_drf():
    assert json.loads(render({"big": 2**80})) == {"big": 2**80}


def test_an_indent_asked_for_is_honoured():
    assert render({"a": 1}, "application/json; indent=2") == b'{\n  "a": 1\n}'


def test_api_answers_are_rendered_by_it(api, db):
    response = api.get("/api/v1/groups")
    assert response.status_code == 200
    assert response.content == b'{"data":[],"pagination":{"offset":0,"limit":25,"total":0,"has_more":false}}'
    assert response["Content-Type"] == "application/json"
