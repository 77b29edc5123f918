"""Reads of focus sessions (CONTRACT §11)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from perpetua.api.exceptions import NotFound
from tasks.models import FocusSession
from tasks.selectors.tasks import owner_check, task_get_for_user


def focus_session_get_for_user(*, user: Any, session_id: uuid.UUID | str) -> FocusSession:
    """The user's focus session, or NotFound (404) / Forbidden (403)."""
    session = FocusSession.objects.filter(pk=session_id).first()
    if session is None:
        raise NotFound("Focus session not found.")
    owner_check(user=user, owner_id=session.user_id)
    return session


def focus_session_active(*, user: Any) -> FocusSession | None:
    """The user's open focus session, if any (at most one: DB constraint)."""
    return FocusSession.objects.filter(user=user, ended_at__isnull=True).first()


def focus_session_get_active(*, user: Any) -> FocusSession:
    """`GET /focus-sessions/active`: the open session, or NotFound (404) when none runs
    (the SPA's schema cannot take `{"data": null}`)."""
    session = focus_session_active(user=user)
    if session is None:
        raise NotFound("No focus session is running.")
    return session


def focus_session_list(*, user: Any, task_id: uuid.UUID | str | None = None) -> QuerySet[FocusSession]:
    """`GET /focus-sessions` and `GET /tasks/{id}/focus-sessions`: the user's sessions,
    newest first (lazy; a page costs two queries). Another user's task is 403, a
    missing one 404 TASK_NOT_FOUND."""
    sessions = FocusSession.objects.filter(user=user)
    if task_id is not None:
        sessions = sessions.filter(task=task_get_for_user(user=user, task_id=task_id))
    return sessions.order_by("-started_at", "-id")
