"""Every write of notes (CONTRACT §7): create, update (archive/unarchive), delete into a
tombstone, and restore from one.

Rules, each in one place here:

* content is 1-2000 characters and not only whitespace;
* voice fields (`voice_url`, `voice_duration_seconds`, `transcription_status`) are Pro
  only: setting one as a free user is 403 TIER_REQUIRED (clearing one is allowed);
* at most `limits_for_user().max_notes` unarchived notes (10 free / 25 Pro + `max_notes`
  perks), checked when a note becomes unarchived (create, unarchive, recovery) under the
  same per-user row lock as the task limit, so concurrent creates cannot exceed it.
  Archived notes do not count, as archived tasks do not count (the SPA archives a note
  when it converts it into a task).

Lock order is note → user, as tasks' task → user. `source` is "user" for the HTTP API
and "ai" for the AI confirm-action.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Tier
from accounts.services import user_lock
from gamification import selectors as gamification_selectors
from notes.models import CONTENT_MAX_LENGTH, Note
from notes.selectors import note_count_active, note_get_for_user
from perpetua.api.exceptions import Conflict, Forbidden, LimitExceeded, TierRequired, field_error
from recovery import services as recovery_services

NOTE_ENTITY_TYPE = "note"
PAYLOAD_FORMAT = 1
VOICE_FIELDS = ("voice_url", "voice_duration_seconds", "transcription_status")
EDITABLE_FIELDS = ("content", "archived", *VOICE_FIELDS)
_TITLE_PREVIEW = 100


def clean_content(content: Any) -> str:
    if not isinstance(content, str) or not content.strip():
        raise field_error("content", "Must not be empty.")
    if len(content) > CONTENT_MAX_LENGTH:
        raise field_error("content", f"Must be at most {CONTENT_MAX_LENGTH} characters.")
    return content


def check_voice_allowed(*, user: Any, values: dict[str, Any]) -> None:
    """Setting a voice field is Pro only (CONTRACT §7, §16)."""
    if user.tier != Tier.PRO and any(values.get(name) is not None for name in VOICE_FIELDS):
        raise TierRequired("Voice notes require Perpetua Pro.")


def clean_voice_duration(seconds: Any) -> int | None:
    if seconds is None:
        return None
    limit = settings.MAX_VOICE_DURATION_SECONDS
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= limit:
        raise field_error("voice_duration_seconds", f"Must be 1 to {limit} seconds.")
    return seconds


def check_note_room(*, user: Any) -> None:
    """Unarchived notes < tier base + `max_notes` perks, else 409 LIMIT_EXCEEDED (CONTRACT §7).
    Locks the owner's row first, so concurrent creates count one at a time."""
    user_lock(user_id=user.pk)
    limit = gamification_selectors.limits_for_user(user=user).max_notes
    if note_count_active(user=user) >= limit:
        raise LimitExceeded(f"You can have at most {limit} notes on your plan.", limit=limit)


def note_create(
    *,
    user: Any,
    content: str,
    archived: bool = False,
    voice_url: str | None = None,
    voice_duration_seconds: int | None = None,
    transcription_status: str | None = None,
    source: str = "user",
) -> Note:
    """POST /notes (CONTRACT §7)."""
    content = clean_content(content)
    voice = {
        "voice_url": voice_url,
        "voice_duration_seconds": clean_voice_duration(voice_duration_seconds),
        "transcription_status": transcription_status,
    }
    check_voice_allowed(user=user, values=voice)
    with transaction.atomic():
        if not archived:
            check_note_room(user=user)
        note = Note.objects.create(user_id=user.pk, content=content, archived=bool(archived), **voice)
        recovery_services.activity_record(
            user=user, entity_type=NOTE_ENTITY_TYPE, entity_id=note.pk, action="created", source=source,
            metadata={"length": len(content), "voice": note.voice_url is not None},
        )  # fmt: skip
    return note


def note_update(*, user: Any, note_id: uuid.UUID | str, data: dict[str, Any], source: str = "user") -> Note:
    """PATCH|PUT /notes/{id} (CONTRACT §0, §7): omitted fields stay, `null` clears a voice
    field; `archived` false → true archives, true → false unarchives (needs room)."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    changes = dict(data)
    if "content" in changes:
        changes["content"] = clean_content(changes["content"])
    if "voice_duration_seconds" in changes:
        changes["voice_duration_seconds"] = clean_voice_duration(changes["voice_duration_seconds"])
    check_voice_allowed(user=user, values=changes)
    with transaction.atomic():
        note = note_get_for_user(user=user, note_id=note_id, for_update=True)
        was_archived = note.archived
        if "archived" in changes:
            changes["archived"] = bool(changes["archived"])
            if was_archived and not changes["archived"]:
                check_note_room(user=user)
        changed = [name for name, value in changes.items() if getattr(note, name) != value]
        for name in changed:
            setattr(note, name, changes[name])
        if changed:
            note.save(update_fields=[*changed, "updated_at"])
        action = "updated"
        if note.archived != was_archived:
            action = "archived" if note.archived else "unarchived"
        recovery_services.activity_record(
            user=user, entity_type=NOTE_ENTITY_TYPE, entity_id=note.pk, action=action, source=source,
            metadata={"fields": sorted(changed)},
        )  # fmt: skip
    return note


# --- delete into a tombstone, and back -----------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def note_snapshot(note: Note) -> dict[str, Any]:
    """The tombstone payload of a note (registered for recovery in `notes.apps`):
    `{"format": 1, "title": <content preview>, "note": {every field, ids as strings,
    datetimes ISO-8601}}`."""
    return {
        "format": PAYLOAD_FORMAT,
        "title": note.content[:_TITLE_PREVIEW],
        "note": {
            "id": str(note.pk),
            "user_id": str(note.user_id),
            "content": note.content,
            "archived": note.archived,
            "voice_url": note.voice_url,
            "voice_duration_seconds": note.voice_duration_seconds,
            "transcription_status": note.transcription_status,
            "created_at": _iso(note.created_at),
            "updated_at": _iso(note.updated_at),
        },
    }


def note_delete(*, user: Any, note_id: uuid.UUID | str, source: str = "user") -> Any:
    """DELETE /notes/{id} (CONTRACT §7, §14): the note goes into a tombstone (the 3 newest per
    user across tasks and notes are kept) and is hard-deleted, in one transaction. Returns
    the Tombstone."""
    with transaction.atomic():
        note = note_get_for_user(user=user, note_id=note_id, for_update=True, strongest=True)
        note_pk = note.pk
        tombstone = recovery_services.tombstone_bury(user=user, entity_type=NOTE_ENTITY_TYPE, instance=note)
        recovery_services.activity_record(
            user=user, entity_type=NOTE_ENTITY_TYPE, entity_id=note_pk, action="deleted", source=source,
            metadata={"tombstone_id": str(tombstone.id)},
        )  # fmt: skip
    return tombstone


def note_restore(*, user: Any, payload: dict[str, Any]) -> Note:
    """Bring a deleted note back from its tombstone with its original id and timestamps
    (registered for recovery; called by `recovery.services.tombstone_recover` inside its
    transaction). Another user's payload → 403; the id taken → 409; an unarchived note
    needs room under the notes limit (409 LIMIT_EXCEEDED)."""
    data = payload["note"]
    if str(data.get("user_id")) != str(user.pk):
        raise Forbidden()
    fields = {f.attname: f for f in Note._meta.concrete_fields}
    values = {name: fields[name].to_python(data.get(name)) for name in fields if name in data}
    with transaction.atomic():
        if not values.get("archived"):
            check_note_room(user=user)
        if Note.objects.filter(pk=values["id"]).exists():
            raise Conflict("A note with this id exists already.")
        try:
            with transaction.atomic():
                Note.objects.bulk_create([Note(**values)])
        except IntegrityError as exc:
            raise Conflict("A note with this id exists already.") from exc
        # auto_now / auto_now_add overwrote them on INSERT; QuerySet.update leaves them alone.
        Note.objects.filter(pk=values["id"]).update(created_at=values["created_at"], updated_at=values["updated_at"])
        return Note.objects.get(pk=values["id"])
