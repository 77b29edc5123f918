"""The agent's read-only function tools (CONTRACT §8: the AI reads, never writes).

Each runs one of our selectors for the requesting user only — the user comes from the
run's context, never from the model's arguments — so no tool can return another user's
rows. A task id of another user answers exactly as a missing one ("not found"): the
model learns nothing about rows that are not the user's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents import RunContextWrapper, function_tool
from django.core.exceptions import ValidationError

from ai.selectors.context import data_block, task_with_subtasks_for_user, tasks_for_user
from perpetua.api.async_views import release_db
from perpetua.api.exceptions import ApiError

SEARCH_LIMIT = 20


@dataclass
class ToolContext:
    """What every tool knows of the run: whose data it may read."""

    user: Any


@function_tool
async def search_tasks(ctx: RunContextWrapper[ToolContext], query: str, include_completed: bool) -> str:
    """Search the user's tasks by words in their title or description ("" lists the newest).

    Args:
        query: words to look for; empty for the newest tasks.
        include_completed: also return completed tasks.
    """
    rows = await release_db(
        tasks_for_user, user=ctx.context.user, limit=SEARCH_LIMIT, query=query.strip()[:200],
        include_completed=include_completed,
    )  # fmt: skip
    return data_block("tasks", rows)


@function_tool
async def get_task(ctx: RunContextWrapper[ToolContext], task_id: str) -> str:
    """One of the user's tasks with its subtasks, by id.

    Args:
        task_id: the task's id, as given in the user's data.
    """
    try:
        return data_block("task", await release_db(task_with_subtasks_for_user, user=ctx.context.user, task_id=task_id))
    except (ApiError, ValueError, ValidationError):
        return "No task of this user has that id."


READ_TOOLS = [search_tasks, get_task]
