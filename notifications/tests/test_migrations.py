"""The `task_id` migration links reminder notifications written before the field existed."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("notifications", "0002_pushsubscription")]
AFTER = [("notifications", "0003_notification_task_id")]


@pytest.mark.django_db(transaction=True)
def test_reminder_notifications_get_their_task_id_from_the_action_url(make_user):
    user = make_user()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("notifications", "Notification")
    task_id = uuid.uuid4()
    reminder = old.objects.create(user_id=user.pk, type="reminder", title="t", action_url=f"/tasks/{task_id}")
    odd = old.objects.create(user_id=user.pk, type="reminder", title="t", action_url="/tasks/not-a-uuid")
    other = old.objects.create(user_id=user.pk, type="system", title="t", action_url=f"/tasks/{task_id}")

    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("notifications", "Notification")

        assert new.objects.get(pk=reminder.pk).task_id == task_id
        assert new.objects.get(pk=odd.pk).task_id is None
        assert new.objects.get(pk=other.pk).task_id is None
    finally:  # leave the schema as the rest of the suite expects it
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
