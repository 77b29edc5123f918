"""Every read of notes (CONTRACT §7). Ownership is decided in the fetch: a missing note is
404, another user's is 403 (CONTRACT §0)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from notes.filters import DEFAULT_ORDERING, NoteFilter
from notes.models import Note
from perpetua.api.exceptions import Forbidden, NotFound
from perpetua.api.filters import filterset_apply


def note_get_for_user(
    *, user: Any, note_id: uuid.UUID | str, for_update: bool = False, strongest: bool = False
) -> Note:
    """The user's note, or NotFound (404) / Forbidden (403). `for_update` locks it `FOR NO KEY
    UPDATE` (`strongest`: `FOR UPDATE`, for deletion); callers hold a transaction."""
    queryset = Note.objects.all()
    if for_update:
        queryset = queryset.select_for_update(no_key=not strongest)
    note = queryset.filter(pk=note_id).first()
    if note is None:
        raise NotFound("Note not found.")
    if note.user_id != user.pk:
        raise Forbidden()
    return note


def note_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Note]:
    """`GET /notes`: the user's notes, newest first; `archived` absent → both (CONTRACT §7).
    Lazy: a page costs two queries (count + rows) whatever its size."""
    queryset = Note.objects.filter(user_id=user.pk).order_by(*DEFAULT_ORDERING)
    if not filters or filters.keys().isdisjoint(NoteFilter.base_filters):
        return queryset
    return filterset_apply(NoteFilter, data=filters, queryset=queryset).qs


def note_count_active(*, user: Any) -> int:
    """Notes that count against the notes limit: the unarchived ones (CONTRACT §7, §16)."""
    return Note.objects.filter(user_id=user.pk, archived=False).count()
