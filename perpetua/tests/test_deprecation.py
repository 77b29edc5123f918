"""`deprecated()` headers (CONTRACT §0, Versioning; RFC 8594 Sunset, RFC 9745 Deprecation)."""

from datetime import UTC, date, datetime

import pytest

from perpetua.api.deprecation import deprecation_headers

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]


def test_deprecated_view_class_sends_headers_on_every_response(api, anon_client):
    response = api.get("/api/v1/old")
    assert response.status_code == 200
    assert response["Deprecation"] == "true"
    assert response["Sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert response["Link"] == '</api/v1/echo>; rel="successor-version"'
    error = anon_client.get("/api/v1/old")
    assert error.status_code == 401
    assert error["Sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"


def test_deprecated_method_only_marks_that_method(api):
    response = api.get("/api/v1/old-method")
    assert response["Deprecation"] == f"@{int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())}"
    assert response["Sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert response["Link"] == '</api/v1/echo>; rel="successor-version"'
    assert "Deprecation" not in api.post("/api/v1/old-method", {}, format="json")


def test_naive_and_aware_datetimes_are_utc():
    naive = deprecation_headers("/x", datetime(2027, 3, 1, 12, 30))
    aware = deprecation_headers("/x", datetime(2027, 3, 1, 12, 30, tzinfo=UTC))
    assert naive["Sunset"] == aware["Sunset"] == "Mon, 01 Mar 2027 12:30:00 GMT"
    assert deprecation_headers("/x", date(2027, 3, 1))["Sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"
