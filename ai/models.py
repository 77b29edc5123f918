"""The ai app keeps no tables of its own (credits, tasks and notes hold what it changes);
its choices live here, below every room that names them."""

from django.db import models


class ActionType(models.TextChoices):
    """What a suggestion proposes and `POST /ai/confirm-action` executes (CONTRACT §8)."""

    COMPLETE_TASK = "complete_task"
    UPDATE_TASK = "update_task"
    CREATE_SUBTASKS = "create_subtasks"
    CREATE_TASK = "create_task"
