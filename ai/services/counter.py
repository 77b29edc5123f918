"""The per-task AI counter (CONTRACT §8): AI requests naming a task, per (session `sid`, task).

The 5th to 10th carry `ai_request_warning: true`; from the 11th the request is 429
AI_TASK_LIMIT_REACHED before any credit moves. A new sign-in is a new `sid`, so it starts
from zero. Counted with the cache's atomic `incr` (Redis when REDIS_URL is set, so every
server process shares one count); a count lives as long as the session can
(JWT_REFRESH_TTL_DAYS).
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.cache import cache

from perpetua.api.exceptions import AITaskLimitReached

logger = logging.getLogger(__name__)


def _key(*, sid: str | None, task_id: uuid.UUID | str) -> str:
    return f"ai-task-count:{sid or '-'}:{task_id}"


def ai_task_request_count(*, sid: str | None, task_id: uuid.UUID | str) -> bool:
    """Count one AI request on `task_id` in session `sid`; True when it carries the warning.
    Raises AITaskLimitReached (429) past AI_TASK_MAX_REQUESTS."""
    key = _key(sid=sid, task_id=task_id)
    try:
        cache.add(key, 0, timeout=settings.JWT_REFRESH_TTL_DAYS * 86400)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.add(key, 1, timeout=settings.JWT_REFRESH_TTL_DAYS * 86400)
            count = 1
    except Exception:  # the shared cache (Redis) is down: uncounted, like the rate limits
        logger.warning("AI task counter unavailable; request not counted", exc_info=True)
        return False
    if count > settings.AI_TASK_MAX_REQUESTS:
        raise AITaskLimitReached(
            f"At most {settings.AI_TASK_MAX_REQUESTS} AI requests per task in one session.",
            limit=settings.AI_TASK_MAX_REQUESTS,
        )
    return count >= settings.AI_TASK_WARNING_FROM
