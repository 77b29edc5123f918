"""Content negotiation: the usual `Accept` values get JSON directly, every other one DRF's answer."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

LIVE = "/api/v1/health/live"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_plain_accept_headers_get_json(accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = APIClient().get(LIVE, **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content.startswith(b"{") and b"\n" not in response.content


def test_an_unsatisfiable_accept_is_a_406_in_the_error_shape():
    response = APIClient().get(LIVE, HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "NOT_ACCEPTABLE"


def test_accept_parameters_still_reach_the_renderer():
    response = APIClient().get(LIVE, HTTP_ACCEPT="application/json; indent=2")
    assert response.status_code == 200
    assert response.content.startswith(b"{\n  ")


def test_a_format_override_is_still_honoured():
    """`?format=` names a renderer: an unknown one is a 404, even with a plain Accept."""
    response = APIClient().get(LIVE + "?format=xml", HTTP_ACCEPT="*/*")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
