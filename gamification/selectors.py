"""Effective limits: the ONE place tier base + achievement perks are combined (CONTRACT §16, §11)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EffectiveLimits:
    max_tasks: int
    max_subtasks: int
    max_description_length: int
    max_notes: int
    daily_ai_credits: int


def limits_for_user(*, user: Any) -> EffectiveLimits:
    raise NotImplementedError  # filled in by the tasks helper (tier base), perks with issue 4
