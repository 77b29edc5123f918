"""`POST /ai/confirm-action` (CONTRACT §8): the only way an AI suggestion changes data.

Each action runs the same service as its plain endpoint, so it is validated exactly as
that endpoint would validate it (limits, ownership, version, field rules), with
`source="ai"` in the activity log (and on created subtasks):

| action_type       | service                                   | plain equivalent               |
|-------------------|-------------------------------------------|--------------------------------|
| `complete_task`   | `task_update(data={"completed": True})`   | PATCH /tasks/{id} completed    |
| `update_task`     | `task_update(data=fields)`                | PATCH /tasks/{id}              |
| `create_subtasks` | `subtask_create_many`                     | POST /tasks/{id}/subtasks, xN  |
| `create_task`     | `task_create` (+ note archived, counted)  | POST /tasks (+ PATCH /notes)   |

`create_task` with `note_id` converts the note (CONTRACT §7): in one transaction the note
is locked (note → user, the notes' lock order), the task created, the note archived and
`notes_converted` counted. An archived note was converted already: 409 CONFLICT, so one
note is never counted twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from gamification import services as gamification_services
from notes import services as note_services
from notes.models import Note
from notes.selectors import note_get_for_user
from perpetua.api.exceptions import Conflict
from recovery import services as recovery_services
from tasks.models import Subtask, Task
from tasks.services import subtasks as subtask_services
from tasks.services import tasks as task_services

SOURCE = "ai"


@dataclass
class ConfirmedAction:
    task: Task | None = None
    subtasks: list[Subtask] = field(default_factory=list)
    note: Note | None = None
    unlocked_achievements: list[dict[str, Any]] = field(default_factory=list)


def ai_action_complete_task(*, user: Any, task_id: uuid.UUID, version: int | None = None) -> ConfirmedAction:
    result = task_services.task_update(
        user=user, task_id=task_id, version=version, data={"completed": True}, source=SOURCE
    )
    return ConfirmedAction(task=result.task, unlocked_achievements=list(result.progress.unlocked_achievements))


def ai_action_update_task(
    *, user: Any, task_id: uuid.UUID, version: int | None = None, data: dict[str, Any]
) -> ConfirmedAction:
    result = task_services.task_update(user=user, task_id=task_id, version=version, data=data, source=SOURCE)
    return ConfirmedAction(task=result.task, unlocked_achievements=list(result.progress.unlocked_achievements))


def ai_action_create_subtasks(*, user: Any, task_id: uuid.UUID, titles: list[str]) -> ConfirmedAction:
    created = subtask_services.subtask_create_many(user=user, task_id=task_id, titles=titles, source=SOURCE)
    return ConfirmedAction(subtasks=created)


def ai_action_create_task(*, user: Any, note_id: uuid.UUID | None = None, **fields: Any) -> ConfirmedAction:
    if note_id is None:
        return ConfirmedAction(task=task_services.task_create(user=user, source=SOURCE, **fields))
    with transaction.atomic():
        note = note_get_for_user(user=user, note_id=note_id, for_update=True)
        if note.archived:
            raise Conflict("This note is archived: it was converted already.")
        task = task_services.task_create(user=user, source=SOURCE, **fields)
        note = note_services.note_update(user=user, note_id=note.pk, data={"archived": True}, source=SOURCE)
        progress = gamification_services.progress_record_note_converted(user=user)
        recovery_services.activity_record(
            user=user, entity_type=note_services.NOTE_ENTITY_TYPE, entity_id=note.pk, action="converted",
            source=SOURCE, metadata={"task_id": str(task.pk)},
        )  # fmt: skip
    return ConfirmedAction(task=task, note=note, unlocked_achievements=list(progress.unlocked_achievements))
