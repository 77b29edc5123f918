"""Progress (lifetime count, streaks, unlocks). The real body arrives with issue 4."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CompletionProgress:
    unlocked_achievements: list[dict[str, Any]] = field(default_factory=list)
    streak: int = 0


def progress_record_completion(*, user: Any, task: Any) -> CompletionProgress:
    """Called once per genuine completion of `task` (never for a recovered task).

    The tasks services call this exactly once per task, inside the completing
    transaction, guarded by `Task.completion_counted` (reopen + re-complete never counts
    twice). Issue 4 replaces this body: lifetime count, streak, focus completion
    (`task.focus_time_seconds >= FOCUS_COMPLETION_RATIO * estimated_duration * 60`),
    unlocks and their notifications. Until then: no unlocks, streak 0.
    """
    return CompletionProgress()
