"""The OpenAPI schema documents the activity shape and routes the SPA relies on (CONTRACT §14)."""

from __future__ import annotations

import pytest

from accounts.tests.openapi import data_of, openapi_schema

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/activity", "/api/v1/users/{user_id}/activity"])
def test_activity_documents_extra_data_and_a_uuid_request_id(path):
    entry = data_of(path, "get")
    assert {"extra_data", "request_id"} <= set(entry["required"])
    request_id = entry["properties"]["request_id"]
    assert (request_id["format"], request_id["nullable"]) == ("uuid", True)


def test_users_activity_documents_forbidden():
    assert "403" in openapi_schema()["paths"]["/api/v1/users/{user_id}/activity"]["get"]["responses"]
