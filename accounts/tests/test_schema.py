"""The OpenAPI schema documents the auth and users shapes the SPA relies on (CONTRACT §1, §2)."""

from __future__ import annotations

import pytest

from accounts.tests.openapi import data_of, response_body, statuses_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/auth/google/callback", "/api/v1/auth/refresh"])
def test_token_responses_are_documented_flat(path):
    tokens = response_body(path, "post")
    assert "data" not in tokens["properties"]
    assert {"access_token", "refresh_token", "token_type", "expires_in", "user"} <= set(tokens["required"])


def test_logout_and_account_deletion_are_documented_as_200_json():
    assert data_of("/api/v1/auth/logout", "post")["properties"]["logged_out"]["type"] == "boolean"
    assert data_of("/api/v1/users/me", "delete")["properties"]["deleted"]["type"] == "boolean"
    documented = statuses_of(("/api/v1/auth/", "/api/v1/users/"))
    assert documented and not [op for op, statuses in documented.items() if "204" in statuses]


def test_user_documents_google_id_and_a_non_empty_name():
    user = data_of("/api/v1/users/me", "get")
    assert {"google_id", "name"} <= set(user["required"])
    assert user["properties"]["google_id"]["type"] == "string"
    assert (user["properties"]["name"]["minLength"], user["properties"]["name"]["maxLength"]) == (1, 100)
