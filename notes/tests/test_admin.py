"""The staff view of notes: list with search and filters, detail (CONTRACT §15)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_notes_admin_lists_searches_and_filters(admin_client, make_note, user):
    make_note(content="groceries list")
    make_note(content="archived idea", archived=True, voice_url="https://x.example.com/a.webm")
    page = admin_client.get("/admin/notes/note/")
    assert page.status_code == 200 and b"groceries list" in page.content
    found = admin_client.get("/admin/notes/note/", {"q": "idea"})
    assert b"archived idea" in found.content and b"groceries list" not in found.content
    voice = admin_client.get("/admin/notes/note/", {"has_voice": "yes"})
    assert b"archived idea" in voice.content and b"groceries list" not in voice.content
    archived = admin_client.get("/admin/notes/note/", {"archived__exact": "0"})
    assert b"groceries list" in archived.content and b"archived idea" not in archived.content
    by_email = admin_client.get("/admin/notes/note/", {"q": user.email})
    assert b"groceries list" in by_email.content
