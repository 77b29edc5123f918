"""Every write of focus sessions (CONTRACT §11): one open session per user (a partial
unique constraint), time added to the task without bumping its `version`.

Activity is logged on the task (entity_type `task`, actions `focus_started` /
`focus_ended`, the session's id in the metadata): the SPA's Activity schema knows no
`focus_session` entity type."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from perpetua.api.exceptions import Conflict, NotFound, field_error
from recovery import services as recovery_services
from tasks import rules
from tasks.models import FocusSession, Task
from tasks.selectors import focus as focus_selectors
from tasks.selectors import tasks as task_selectors


def focus_start(*, user: Any, task_id: uuid.UUID | str, source: str = "user") -> FocusSession:
    """POST /focus/start and POST /focus-sessions (CONTRACT §11): one open session per
    user (DB constraint), else 409."""
    with transaction.atomic():
        # Lock the task first (task → user order): the insert's FK checks then never
        # hold a key-share on the user while waiting for a task being deleted.
        task = task_selectors.task_get_for_user(user=user, task_id=task_id, for_update=True)
        rules.ensure_not_archived(task)
        try:
            with transaction.atomic():
                session = FocusSession.objects.create(user=user, task=task, started_at=timezone.now())
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if constraint == "focus_one_open_per_user" or constraint is None:
                raise Conflict("A focus session is already running; end it first.") from exc
            raise
        recovery_services.activity_record(
            user=user, entity_type="task", entity_id=task.pk, action="focus_started", source=source,
            metadata={"session_id": str(session.pk)},
        )  # fmt: skip
    return session


def focus_end(
    *,
    user: Any,
    session_id: uuid.UUID | str | None = None,
    task_id: uuid.UUID | str | None = None,
    source: str = "user",
) -> FocusSession:
    """POST /focus/end `{session_id}` or `{task_id}`, POST /focus-sessions/{id}/end (CONTRACT §11).

    Stores the elapsed whole seconds on the session and adds them to the task's
    `focus_time_seconds` with an F() expression. The task's `version` is NOT bumped:
    focus time is not client-editable, the addition commutes with any PATCH, and a
    running timer must not make the user's open edit conflict. An already ended
    session → 409; no open session for the task → 404.
    """
    if (session_id is None) == (task_id is None):
        raise field_error("session_id", "Give exactly one of session_id or task_id.")
    with transaction.atomic():
        if session_id is not None:
            session = focus_selectors.focus_session_get_for_user(user=user, session_id=session_id)
            if session.ended_at is not None:
                raise Conflict("This focus session has already ended.")
        else:
            task = task_selectors.task_get_for_user(user=user, task_id=task_id)
            session = FocusSession.objects.filter(user=user, task=task, ended_at__isnull=True).first()
            if session is None:
                raise NotFound("No open focus session for this task.")
        # Lock the task before touching the session (task → session, the order a task
        # deletion cascades in).
        list(Task.objects.select_for_update(no_key=True).filter(pk=session.task_id).values_list("pk", flat=True))
        focus_session_close(session=session, user=user, source=source)
    return session


def focus_session_close(*, session: FocusSession, user: Any, source: str) -> int:
    """End `session` if still open (also when its task is completed) and add its whole
    elapsed seconds to the task; returns them. Of two concurrent ends exactly one adds
    the time (conditional UPDATE)."""
    now = timezone.now()
    elapsed = max(0, int((now - session.started_at).total_seconds()))
    ended = FocusSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, duration_seconds=elapsed, updated_at=now
    )
    if ended == 0:
        raise Conflict("This focus session has already ended.")
    session.ended_at, session.duration_seconds, session.updated_at = now, elapsed, now
    Task.objects.filter(pk=session.task_id).update(focus_time_seconds=F("focus_time_seconds") + elapsed, updated_at=now)
    recovery_services.activity_record(
        user=user, entity_type="task", entity_id=session.task_id, action="focus_ended", source=source,
        metadata={"session_id": str(session.pk), "duration_seconds": elapsed},
    )  # fmt: skip
    return elapsed
