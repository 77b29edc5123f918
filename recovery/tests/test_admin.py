from __future__ import annotations

import uuid

import pytest

from notifications.services import notification_create
from recovery.models import ActivityEntry
from recovery.services import activity_record, tombstone_create

pytestmark = pytest.mark.django_db


def test_recovery_admin_is_read_only_and_searchable(admin_client, user):
    entity_id = uuid.uuid4()
    activity_record(user=user, entity_type="task", entity_id=entity_id, action="created")
    tomb = tombstone_create(user=user, entity_type="task", entity_id=entity_id, payload={"title": "x"})
    for url in ("/admin/recovery/activityentry/", "/admin/recovery/tombstone/"):
        assert admin_client.get(url).status_code == 200
        assert admin_client.get(url, {"q": str(entity_id)}).status_code == 200
        assert admin_client.get(url, {"q": "not-a-uuid"}).status_code == 200
        assert admin_client.get(url, {"entity_type__exact": "task"}).status_code == 200
        assert admin_client.get(url + "add/").status_code == 403
    entry = ActivityEntry.objects.get()
    assert admin_client.get(f"/admin/recovery/activityentry/{entry.pk}/change/").status_code == 200
    assert admin_client.post(f"/admin/recovery/tombstone/{tomb.pk}/delete/", {"post": "yes"}).status_code == 403


def test_notifications_admin(admin_client, user):
    notification_create(user=user, type="system", title="hello")
    assert admin_client.get("/admin/notifications/notification/", {"q": "hello", "read__exact": "0"}).status_code == 200
