"""Fixtures for the notes tests."""

from __future__ import annotations

import uuid

import pytest
from model_bakery import baker


@pytest.fixture
def other_user(make_user):
    return make_user()


@pytest.fixture
def make_note(user):
    def _make(owner=None, n: int = 1, **fields):
        fields.setdefault("content", "A note")
        rows = [baker.prepare("notes.Note", user=owner or user, **fields) for _ in range(n)]
        from notes.models import Note

        created = Note.objects.bulk_create(rows)
        return created[0] if n == 1 else created

    return _make


@pytest.fixture
def give_perk():
    """Unlock a `max_notes` perk of `value` for `user`."""

    def _give(user, value: int = 5):
        definition = baker.make(
            "gamification.AchievementDefinition",
            code=f"notes_perk_{uuid.uuid4().hex[:8]}",
            perk_type="max_notes",
            perk_value=value,
            threshold=1,
        )
        baker.make("gamification.UserAchievement", user=user, definition=definition)

    return _give
