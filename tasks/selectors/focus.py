"""Reads of focus sessions (CONTRACT §11)."""

from __future__ import annotations

import uuid
from typing import Any

from perpetua.api.exceptions import NotFound
from tasks.models import FocusSession
from tasks.selectors.tasks import owner_check


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
