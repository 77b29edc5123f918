"""The OpenAPI schema documents the achievement shapes the SPA relies on (CONTRACT §11)."""

from __future__ import annotations

import pytest

from accounts.tests.openapi import data_of, openapi_schema, resolve

pytestmark = pytest.mark.django_db


def test_definition_documents_message_flat_perk_and_categories():
    definition = data_of("/api/v1/achievements", "get")
    assert {"message", "perk_type", "perk_value", "category"} <= set(definition["required"])
    assert definition["properties"]["perk_type"]["nullable"] is True
    assert definition["properties"]["perk_value"]["nullable"] is True
    assert resolve(definition["properties"]["category"])["enum"] == ["tasks", "streaks", "focus", "notes"]


@pytest.mark.parametrize("path", ["/api/v1/achievements/me", "/api/v1/users/{user_id}/achievements"])
def test_me_documents_unlocked_codes_and_unlock_objects(path):
    me = data_of(path, "get")
    assert me["properties"]["unlocked"]["items"] == {"type": "string"}
    unlock = resolve(me["properties"]["unlocked_achievements"]["items"])
    assert {"id", "achievement_id", "name", "achievement_name", "unlocked_at", "perk"} <= set(unlock["required"])


def test_users_achievements_documents_forbidden():
    assert "403" in openapi_schema()["paths"]["/api/v1/users/{user_id}/achievements"]["get"]["responses"]
