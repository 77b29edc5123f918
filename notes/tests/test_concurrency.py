"""Concurrent note creates at the limit, with real threads on PostgreSQL (CONTRACT §7)."""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from notes.models import Note

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_creates_never_exceed_the_notes_limit(user, make_note, concurrently):
    make_note(n=8)

    def create(i):
        client = APIClient()
        client.force_authenticate(user=user)
        return client.post("/api/v1/notes", {"content": f"note {i}"}, format="json").status_code

    statuses = concurrently(8, create)
    assert Counter(statuses) == {201: 2, 409: 6}
    assert Note.objects.filter(user=user).count() == 10
