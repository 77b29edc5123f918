"""The OpenAPI schema documents the notification shapes the SPA relies on (CONTRACT §13)."""

from __future__ import annotations

import pytest

from accounts.tests.openapi import data_of, statuses_of

pytestmark = pytest.mark.django_db


def test_notification_documents_message_and_a_nullable_task_id():
    notification = data_of("/api/v1/notifications", "get")
    assert {"message", "task_id", "user_id", "updated_at"} <= set(notification["required"])
    assert notification["properties"]["task_id"]["nullable"] is True


def test_deletes_are_documented_as_200_json():
    assert set(data_of("/api/v1/notifications/{id}", "delete")["required"]) == {"id", "deleted"}
    assert data_of("/api/v1/notifications/push-subscription", "delete")["required"] == ["deleted"]
    documented = statuses_of(("/api/v1/notifications",))
    assert documented and not [op for op, statuses in documented.items() if "204" in statuses]
