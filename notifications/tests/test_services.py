from __future__ import annotations

import uuid

import pytest

from notifications.models import Notification
from notifications.services import (
    notification_create,
    notification_delete,
    notification_mark_read,
    notifications_mark_all_read,
)
from perpetua.api.exceptions import Forbidden, NotFound

pytestmark = pytest.mark.django_db


def test_create_truncates_title_and_body(user):
    n = notification_create(user=user, type="system", title="x" * 150, body="y" * 600, push=True)
    n.refresh_from_db()
    assert len(n.title) == 100
    assert len(n.body) == 500
    assert n.read is False and n.read_at is None and n.action_url is None


def test_create_accepts_user_id(user):
    n = notification_create(user=user.pk, type="reminder", title="Due soon", action_url="/tasks/1")
    assert n.user_id == user.pk and n.action_url == "/tasks/1"


def test_create_rejects_unknown_type(user):
    with pytest.raises(ValueError):
        notification_create(user=user, type="spam", title="x")


def test_mark_read_sets_read_at_once(user):
    n = notification_create(user=user, type="system", title="a")
    first = notification_mark_read(user=user, notification_id=n.id)
    assert first.read and first.read_at
    again = notification_mark_read(user=user, notification_id=n.id)
    assert again.read_at == first.read_at


def test_mark_read_ownership(user, make_user):
    n = notification_create(user=make_user(), type="system", title="a")
    with pytest.raises(Forbidden):
        notification_mark_read(user=user, notification_id=n.id)
    with pytest.raises(NotFound):
        notification_mark_read(user=user, notification_id=uuid.uuid4())


def test_mark_all_read_counts_only_own_unread(user, make_user):
    other = make_user()
    for _ in range(3):
        notification_create(user=user, type="system", title="a")
    notification_create(user=other, type="system", title="a")
    done = notification_create(user=user, type="system", title="b")
    notification_mark_read(user=user, notification_id=done.id)
    assert notifications_mark_all_read(user=user) == 3
    assert notifications_mark_all_read(user=user) == 0
    assert Notification.objects.filter(user=other, read=False).count() == 1


def test_delete(user, make_user):
    n = notification_create(user=user, type="system", title="a")
    notification_delete(user=user, notification_id=n.id)
    assert not Notification.objects.exists()
    theirs = notification_create(user=make_user(), type="system", title="a")
    with pytest.raises(Forbidden):
        notification_delete(user=user, notification_id=theirs.id)
    assert Notification.objects.filter(pk=theirs.pk).exists()
