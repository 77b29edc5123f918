"""Generated request ids are canonical dashed UUIDs (CONTRACT §0); a valid incoming id is echoed."""

import uuid

import pytest

pytestmark = pytest.mark.django_db


def _is_dashed_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value and uuid.UUID(value).version == 4
    except ValueError:
        return False


@pytest.mark.parametrize("incoming", [None, "bad id with spaces", "x" * 129])
def test_a_generated_request_id_is_a_dashed_uuid(anon_client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = anon_client.get("/api/v1/users/me", **headers)  # a 401: errors carry it too
    generated = response["X-Request-ID"]
    assert _is_dashed_uuid(generated), generated
    assert response.json()["error"]["request_id"] == generated


def test_a_valid_incoming_request_id_is_echoed(anon_client):
    assert anon_client.get("/api/v1/health/live", HTTP_X_REQUEST_ID="trace-42")["X-Request-ID"] == "trace-42"
