"""Progress (lifetime count, streaks, unlocks). The real body arrives with issue 4."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CompletionProgress:
    unlocked_achievements: list[dict[str, Any]] = field(default_factory=list)
    streak: int = 0


def progress_record_completion(*, user: Any, task: Any) -> CompletionProgress:
    """Called once per genuine completion of `task` (never for a recovered task)."""
    raise NotImplementedError
