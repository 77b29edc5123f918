from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from perpetua.api.exceptions import Conflict, Forbidden, NotFound
from perpetua.api.request_id import reset_request_id, set_request_id
from recovery import registry
from recovery.models import ActivityEntry, Tombstone
from recovery.registry import Recoverable
from recovery.services import (
    activity_purge_expired,
    activity_record,
    tombstone_create,
    tombstone_purge_expired,
    tombstone_recover,
)

pytestmark = pytest.mark.django_db


def test_activity_record_stores_request_id_and_accepts_user_id(user):
    token = set_request_id("req-123")
    try:
        activity_record(user=user.pk, entity_type="task", entity_id=str(uuid.uuid4()), action="created")
    finally:
        reset_request_id(token)
    entry = ActivityEntry.objects.get()
    assert entry.user_id == user.pk
    assert entry.request_id == "req-123"
    assert entry.source == "user"
    assert entry.metadata == {}


def test_activity_record_is_one_insert(user, django_assert_num_queries):
    with django_assert_num_queries(1):
        activity_record(user=user, entity_type="task", entity_id=uuid.uuid4(), action="updated", source="ai")


def test_activity_record_rejects_unknown_source(user):
    with pytest.raises(ValueError):
        activity_record(user=user, entity_type="task", entity_id=uuid.uuid4(), action="x", source="robot")


def test_activity_purge_expired_deletes_only_old_entries(user):
    activity_record(user=user, entity_type="task", entity_id=uuid.uuid4(), action="created")
    old = ActivityEntry.objects.create(user=user, entity_type="task", entity_id=uuid.uuid4(), action="created")
    ActivityEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert activity_purge_expired() == 1
    assert ActivityEntry.objects.count() == 1
    assert not ActivityEntry.objects.filter(pk=old.pk).exists()


@override_settings(ACTIVITY_RETENTION_DAYS=5)
def test_activity_purge_honours_setting(user):
    entry = ActivityEntry.objects.create(user=user, entity_type="task", entity_id=uuid.uuid4(), action="created")
    ActivityEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=6))
    assert activity_purge_expired() == 1


def _tomb(user, title="t"):
    return tombstone_create(user=user, entity_type="task", entity_id=uuid.uuid4(), payload={"title": title})


def test_tombstone_create_sets_ttl(user):
    tomb = _tomb(user)
    assert tomb.recoverable_until - tomb.created_at == timedelta(days=30)


def test_fourth_tombstone_drops_the_oldest(user, make_user):
    other = make_user()
    _tomb(other)
    first, second, third = _tomb(user, "1"), _tomb(user, "2"), _tomb(user, "3")
    fourth = _tomb(user, "4")
    ids = set(Tombstone.objects.filter(user=user).values_list("id", flat=True))
    assert ids == {second.id, third.id, fourth.id}
    assert first.id not in ids
    assert Tombstone.objects.filter(user=other).count() == 1


@override_settings(MAX_TOMBSTONES=1)
def test_tombstone_cap_honours_setting(user):
    _tomb(user)
    last = _tomb(user)
    assert list(Tombstone.objects.filter(user=user).values_list("id", flat=True)) == [last.id]


def test_tombstone_purge_expired(user):
    tomb = _tomb(user)
    _tomb(user)
    Tombstone.objects.filter(pk=tomb.pk).update(recoverable_until=timezone.now() - timedelta(seconds=1))
    assert tombstone_purge_expired() == 1
    assert Tombstone.objects.count() == 1


def test_recover_missing_is_404(user):
    with pytest.raises(NotFound):
        tombstone_recover(user=user, tombstone_id=uuid.uuid4())


def test_recover_other_users_is_403(user, make_user):
    tomb = _tomb(make_user())
    with pytest.raises(Forbidden):
        tombstone_recover(user=user, tombstone_id=tomb.id)


def test_recover_expired_is_404(user):
    tomb = _tomb(user)
    Tombstone.objects.filter(pk=tomb.pk).update(recoverable_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(NotFound):
        tombstone_recover(user=user, tombstone_id=tomb.id)


def test_recover_uses_the_restore_the_owning_app_registered(user, monkeypatch):
    monkeypatch.delitem(registry._registry, "note", raising=False)  # as if no app had registered notes
    tomb = tombstone_create(user=user, entity_type="note", entity_id=uuid.uuid4(), payload={"title": "n"})
    with pytest.raises(Conflict):  # no app has registered notes: refused, tombstone kept
        tombstone_recover(user=user, tombstone_id=tomb.id)
    assert Tombstone.objects.filter(pk=tomb.pk).exists()

    payloads = []

    def restore(*, user, payload):
        payloads.append(payload)
        return "the note"

    entry = Recoverable(entity_type="note", snapshot=dict, restore=restore, represent=dict, representation=object)
    monkeypatch.setitem(registry._registry, "note", entry)
    assert tombstone_recover(user=user, tombstone_id=tomb.id) == ("note", "the note")
    assert payloads == [{"title": "n"}]
    assert not Tombstone.objects.filter(pk=tomb.pk).exists()


def test_an_entity_type_is_registered_by_one_app_only(monkeypatch):
    monkeypatch.setattr(registry, "_registry", {})
    entry = Recoverable(entity_type="note", snapshot=dict, restore=dict, represent=dict, representation=object)
    registry.recoverable_register(entry)
    registry.recoverable_register(entry)  # a second ready() call changes nothing
    assert registry.recoverables() == (entry,)
    with pytest.raises(ImproperlyConfigured):
        registry.recoverable_register(Recoverable("note", dict, dict, list, object))


def test_recover_unknown_entity_type_is_409(user):
    tomb = tombstone_create(user=user, entity_type="widget", entity_id=uuid.uuid4(), payload={})
    with pytest.raises(Conflict, match="widget"):
        tombstone_recover(user=user, tombstone_id=tomb.id)


def test_purge_expired_command_purges_every_expiring_table_and_is_idempotent(user):
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import RefreshToken
    from accounts.services import session_start
    from perpetua.api.models import IdempotencyKey

    old = ActivityEntry.objects.create(user=user, entity_type="task", entity_id=uuid.uuid4(), action="created")
    ActivityEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    fresh = ActivityEntry.objects.create(user=user, entity_type="task", entity_id=uuid.uuid4(), action="created")
    tomb = _tomb(user)
    Tombstone.objects.filter(pk=tomb.pk).update(recoverable_until=timezone.now() - timedelta(seconds=1))
    session_start(user=user)
    session_start(user=user)
    stale_token, live_token = RefreshToken.objects.filter(user=user)
    RefreshToken.objects.filter(pk=stale_token.pk).update(revoked_at=timezone.now() - timedelta(days=8))
    key = IdempotencyKey.objects.create(user=user, key=uuid.uuid4(), fingerprint="x" * 64)
    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(hours=25))

    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from perpetua.tests.jobs_for_tests import record_run

    record_run.enqueue("old")
    record_run.enqueue("pending")
    DBTaskResult.objects.filter(args_kwargs__args=["old"]).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now() - timedelta(days=8)
    )

    out = StringIO()
    call_command("purge_expired", stdout=out)
    assert out.getvalue().strip() == (
        "purged 1 activity entries, 1 tombstones, 1 idempotency keys, 1 refresh tokens, 1 finished jobs, "
        "0 webhook events"
    )
    assert list(ActivityEntry.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert list(RefreshToken.objects.values_list("pk", flat=True)) == [live_token.pk]
    assert DBTaskResult.objects.count() == 1  # the pending job stays

    again = StringIO()
    call_command("purge_expired", stdout=again)
    assert again.getvalue().strip() == (
        "purged 0 activity entries, 0 tombstones, 0 idempotency keys, 0 refresh tokens, 0 finished jobs, "
        "0 webhook events"
    )
