"""Notes over HTTP on PostgreSQL (CONTRACT §7): CRUD, bounds, limits, voice tier, delete →
tombstone → recover, ownership, and the SPA's Note shape (SPA.md §1)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notes.models import Note
from recovery.models import ActivityEntry, Tombstone

pytestmark = pytest.mark.django_db

Z_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NOTE_KEYS = {"id", "user_id", "content", "archived", "voice_url", "voice_duration_seconds", "transcription_status",
             "created_at", "updated_at"}  # fmt: skip


def assert_spa_note(data: dict) -> None:
    """What the SPA's NoteSchema requires: every key present, voice keys null when unset."""
    assert set(data) == NOTE_KEYS
    assert str(uuid.UUID(data["id"])) == data["id"] and str(uuid.UUID(data["user_id"])) == data["user_id"]
    assert 1 <= len(data["content"]) <= 2000
    assert isinstance(data["archived"], bool)
    assert data["transcription_status"] in (None, "pending", "completed", "failed")
    assert data["voice_duration_seconds"] is None or 1 <= data["voice_duration_seconds"] <= 300
    assert Z_DATETIME.match(data["created_at"]) and Z_DATETIME.match(data["updated_at"])


# --- CRUD ---------------------------------------------------------------------------------------


def test_create_read_update_delete(api, user):
    created = api.post("/api/v1/notes", {"content": "Buy milk"}, format="json")
    assert created.status_code == 201
    note = created.json()["data"]
    assert_spa_note(note)
    assert (note["content"], note["user_id"], note["archived"], note["voice_url"]) == ("Buy milk", str(user.pk),
                                                                                        False, None)  # fmt: skip

    got = api.get(f"/api/v1/notes/{note['id']}")
    assert got.status_code == 200 and got.json()["data"] == note

    patched = api.patch(f"/api/v1/notes/{note['id']}", {"content": "Buy oat milk"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["data"]["content"] == "Buy oat milk"
    assert patched.json()["data"]["updated_at"] >= note["updated_at"]

    put = api.put(f"/api/v1/notes/{note['id']}", {"archived": True}, format="json")  # PUT = partial update
    assert put.status_code == 200
    assert put.json()["data"]["archived"] is True and put.json()["data"]["content"] == "Buy oat milk"
    back = api.patch(f"/api/v1/notes/{note['id']}", {"archived": False}, format="json")
    assert back.json()["data"]["archived"] is False

    deleted = api.delete(f"/api/v1/notes/{note['id']}")
    assert deleted.status_code == 200
    body = deleted.json()["data"]
    assert body["id"] == note["id"]
    assert Tombstone.objects.get(id=body["tombstone_id"]).entity_type == "note"
    assert Z_DATETIME.match(body["recoverable_until"])
    assert not Note.objects.filter(pk=note["id"]).exists()
    assert api.get(f"/api/v1/notes/{note['id']}").status_code == 404

    actions = list(
        ActivityEntry.objects.filter(entity_type="note", entity_id=note["id"]).order_by("created_at")
        .values_list("action", flat=True)
    )  # fmt: skip
    assert actions == ["created", "updated", "archived", "unarchived", "deleted"]


@pytest.mark.parametrize(
    ("content", "status"),
    [("x", 201), ("y" * 2000, 201), ("y" * 2001, 400), ("", 400), ("   \n", 400), (None, 400)],
)
def test_content_bounds(api, content, status):
    response = api.post("/api/v1/notes", {"content": content}, format="json")
    assert response.status_code == status, response.json()
    if status == 400:
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert response.json()["error"]["details"][0]["field"] == "content"
        assert not Note.objects.exists()


def test_content_is_required_and_unknown_fields_are_400(api, make_note):
    assert api.post("/api/v1/notes", {}, format="json").status_code == 400
    response = api.post("/api/v1/notes", {"content": "a", "title": "b"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [{"field": "title", "message": "Unknown field."}]
    note = make_note()
    assert api.patch(f"/api/v1/notes/{note.pk}", {"content": ""}, format="json").status_code == 400
    assert api.patch(f"/api/v1/notes/{note.pk}", {"user_id": str(uuid.uuid4())}, format="json").status_code == 400
    note.refresh_from_db()
    assert note.content == "A note"


# --- list -----------------------------------------------------------------------------------------


def test_list_archived_absent_gives_both_and_filters_narrow(api, make_note, other_user):
    make_note(content="open")
    make_note(content="archived", archived=True)
    make_note(owner=other_user, content="someone else's")
    everything = api.get("/api/v1/notes").json()
    assert sorted(n["content"] for n in everything["data"]) == ["archived", "open"]
    assert everything["pagination"] == {"offset": 0, "limit": 25, "total": 2, "has_more": False}
    for n in everything["data"]:
        assert_spa_note(n)
    assert [n["content"] for n in api.get("/api/v1/notes?archived=true").json()["data"]] == ["archived"]
    assert [n["content"] for n in api.get("/api/v1/notes?archived=false").json()["data"]] == ["open"]
    assert [n["content"] for n in api.get("/api/v1/notes?search=ARCH").json()["data"]] == ["archived"]


@pytest.mark.parametrize(
    "query", ["archived=maybe", "ordering=content", "transcription_status=done", "limit=0", "limit=101", "offset=-1"]
)
def test_bad_list_parameters_are_400(api, query):
    response = api.get(f"/api/v1/notes?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_list_is_newest_first_paginated_and_orderable(api, make_note):
    notes = [make_note(content=f"n{i}") for i in range(5)]
    for i, note in enumerate(notes):  # distinct, known creation times
        Note.objects.filter(pk=note.pk).update(created_at=f"2026-01-0{i + 1}T10:00:00Z")
    page = api.get("/api/v1/notes?limit=2&offset=1").json()
    assert [n["content"] for n in page["data"]] == ["n3", "n2"]
    assert page["pagination"] == {"offset": 1, "limit": 2, "total": 5, "has_more": True}
    oldest = api.get("/api/v1/notes?ordering=created_at").json()["data"]
    assert [n["content"] for n in oldest] == ["n0", "n1", "n2", "n3", "n4"]


def test_list_costs_the_same_queries_whatever_the_page_size(api, make_note):
    make_note(n=2)
    with CaptureQueriesContext(connection) as small:
        assert api.get("/api/v1/notes").status_code == 200
    make_note(n=20)
    with CaptureQueriesContext(connection) as large:
        assert len(api.get("/api/v1/notes").json()["data"]) == 22
    assert len(small) == len(large)


# --- limits --------------------------------------------------------------------------------------------


def test_free_users_have_ten_notes(api, make_note):
    make_note(n=9)
    assert api.post("/api/v1/notes", {"content": "10th"}, format="json").status_code == 201
    refused = api.post("/api/v1/notes", {"content": "11th"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert Note.objects.count() == 10


def test_pro_users_have_twenty_five_notes(client_for, pro_user, make_note):
    make_note(owner=pro_user, n=24)
    api = client_for(pro_user)
    assert api.post("/api/v1/notes", {"content": "25th"}, format="json").status_code == 201
    assert api.post("/api/v1/notes", {"content": "26th"}, format="json").status_code == 409


def test_max_notes_perks_raise_the_limit(api, user, make_note, give_perk):
    give_perk(user, 5)
    make_note(n=14)
    assert api.post("/api/v1/notes", {"content": "15th"}, format="json").status_code == 201
    assert api.post("/api/v1/notes", {"content": "16th"}, format="json").status_code == 409


def test_archived_notes_do_not_count_but_unarchiving_needs_room(api, make_note):
    make_note(n=10)
    archived = make_note(content="old", archived=True)
    assert api.post("/api/v1/notes", {"content": "one more"}, format="json").status_code == 409
    refused = api.patch(f"/api/v1/notes/{archived.pk}", {"archived": False}, format="json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "LIMIT_EXCEEDED"
    archived.refresh_from_db()
    assert archived.archived is True
    first = Note.objects.filter(archived=False).first()
    assert api.patch(f"/api/v1/notes/{first.pk}", {"archived": True}, format="json").status_code == 200
    assert api.patch(f"/api/v1/notes/{archived.pk}", {"archived": False}, format="json").status_code == 200


# --- voice fields are Pro only ------------------------------------------------------------------------------

VOICE = {"voice_url": "https://cdn.example.com/a.webm", "voice_duration_seconds": 42, "transcription_status": "pending"}


@pytest.mark.parametrize("field", sorted(VOICE))
def test_voice_fields_are_refused_for_free_users(api, make_note, field):
    response = api.post("/api/v1/notes", {"content": "memo", field: VOICE[field]}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TIER_REQUIRED"
    note = make_note()
    assert api.patch(f"/api/v1/notes/{note.pk}", {field: VOICE[field]}, format="json").status_code == 403
    note.refresh_from_db()
    assert getattr(note, field) is None
    assert not Note.objects.exclude(pk=note.pk).exists()


def test_free_users_may_clear_voice_fields(api, make_note):
    note = make_note(**VOICE)
    response = api.patch(f"/api/v1/notes/{note.pk}", {"voice_url": None, "voice_duration_seconds": None}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["voice_url"] is None


def test_pro_users_store_voice_fields(client_for, pro_user):
    response = client_for(pro_user).post("/api/v1/notes", {"content": "memo", **VOICE}, format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert_spa_note(data)
    assert {k: data[k] for k in VOICE} == VOICE


@pytest.mark.parametrize(
    "bad", [{"voice_duration_seconds": 0}, {"voice_duration_seconds": 301}, {"voice_url": "not a url"},
            {"voice_url": "ftp://x.example.com/a"}, {"transcription_status": "done"}],
)  # fmt: skip
def test_voice_field_values_are_validated(client_for, pro_user, bad):
    response = client_for(pro_user).post("/api/v1/notes", {"content": "memo", **bad}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == next(iter(bad))


# --- ownership -------------------------------------------------------------------------------------------


def test_another_users_note_is_403_and_a_missing_one_404(api, make_note, other_user):
    theirs = make_note(owner=other_user, content="private")
    for method, body in (("get", None), ("patch", {"content": "x"}), ("put", {"archived": True}), ("delete", None)):
        response = getattr(api, method)(f"/api/v1/notes/{theirs.pk}", body, format="json")
        assert response.status_code == 403, method
        assert response.json()["error"]["code"] == "FORBIDDEN"
    theirs.refresh_from_db()
    assert (theirs.content, theirs.archived) == ("private", False)
    missing = api.get(f"/api/v1/notes/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


def test_anonymous_requests_are_401(anon_client):
    assert anon_client.get("/api/v1/notes").status_code == 401
    assert anon_client.post("/api/v1/notes", {"content": "x"}, format="json").status_code == 401


# --- delete → tombstone → recover ---------------------------------------------------------------------------


def test_delete_then_recover_restores_the_note_with_its_id_and_timestamps(client_for, pro_user):
    api = client_for(pro_user)
    note = api.post("/api/v1/notes", {"content": "Remember this", **VOICE}, format="json").json()["data"]
    Note.objects.filter(pk=note["id"]).update(created_at="2026-01-02T03:04:05.678Z", updated_at="2026-01-03T00:00:00Z")
    original = api.get(f"/api/v1/notes/{note['id']}").json()["data"]

    tombstone_id = api.delete(f"/api/v1/notes/{note['id']}").json()["data"]["tombstone_id"]
    listed = api.get("/api/v1/tombstones").json()["data"]
    assert [(t["id"], t["entity_type"], t["title"]) for t in listed] == [(tombstone_id, "note", "Remember this")]

    recovered = api.post(f"/api/v1/tombstones/{tombstone_id}/recover")
    assert recovered.status_code == 200
    assert recovered.json()["data"] == original
    assert api.get(f"/api/v1/notes/{note['id']}").json()["data"] == original
    assert not Tombstone.objects.exists()
    assert ActivityEntry.objects.filter(entity_id=note["id"], action="recovered").exists()


def test_recover_is_refused_when_the_notes_limit_is_full(api, make_note):
    note = make_note(content="gone")
    tombstone_id = api.delete(f"/api/v1/notes/{note.pk}").json()["data"]["tombstone_id"]
    make_note(n=10)
    refused = api.post(f"/api/v1/tombstones/{tombstone_id}/recover")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert Tombstone.objects.filter(id=tombstone_id).exists()


def test_another_user_cannot_recover_my_note(api, client_for, other_user, make_note):
    note = make_note()
    tombstone_id = api.delete(f"/api/v1/notes/{note.pk}").json()["data"]["tombstone_id"]
    assert client_for(other_user).post(f"/api/v1/tombstones/{tombstone_id}/recover").status_code == 403
    assert not Note.objects.exists()


def test_three_newest_tombstones_are_kept_across_tasks_and_notes(api, make_note, make_task):
    notes = [make_note(content=f"note {i}") for i in range(3)]
    task = make_task(title="a task")
    for note in notes[:2]:
        api.delete(f"/api/v1/notes/{note.pk}")
    api.delete(f"/api/v1/tasks/{task.pk}")
    api.delete(f"/api/v1/notes/{notes[2].pk}")
    kept = api.get("/api/v1/tombstones").json()["data"]
    assert [t["title"] for t in kept] == ["note 2", "a task", "note 1"]
