"""Background jobs on django-tasks' database backend (CONTRACT §15, Worker).

    from perpetua.jobs import enqueue, job

    @job()                                # a django-tasks Task with bounded retries
    def send_push(subscription_id: str) -> None: ...

    # inside a service's transaction.atomic():
    enqueue(send_push, str(subscription.id))
    enqueue(fire_reminder, str(reminder.id), run_after=reminder.scheduled_at)

`manage.py run_worker` runs them (claims with FOR UPDATE SKIP LOCKED, so any number of
workers may run). django-tasks has no retries of its own: `@job` re-enqueues a failed
run with `run_after` = now + JOB_RETRY_BASE_SECONDS * 2^(attempt-1) (capped at an
hour, +≤10 % jitter) until JOB_MAX_ATTEMPTS runs have failed, and counts every run in
`JOBS_PROCESSED{job, outcome=succeeded|retried|failed}`. Delivery is at least once (a
job whose worker died is re-run, see run_worker), so a job must be idempotent: guard
its effect with a conditional UPDATE or a unique row.

Arguments must be JSON-serialisable (pass ids as strings, not model instances).
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_tasks import task as _task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from perpetua.api.metrics import JOBS_PROCESSED

logger = logging.getLogger("perpetua.jobs")

ATTEMPT_KWARG = "_attempt"
MAX_BACKOFF_SECONDS = 3600


def _resolve_run_after(run_after: datetime | timedelta | None) -> datetime | None:
    if isinstance(run_after, timedelta):
        return timezone.now() + run_after
    return run_after


def enqueue(task: Any, *args: Any, run_after: datetime | timedelta | None = None, **kwargs: Any) -> None:
    """Enqueue `task(*args, **kwargs)` in the current transaction. `run_after` is a datetime or a delay.

    The queue is a table of the same database, so the job row commits with the write
    that asked for it and disappears with its rollback: no job without its cause, and no
    cause without its job (an enqueue after commit could be lost to a crash in between).
    Workers cannot see the row before the commit.
    """
    when = _resolve_run_after(run_after)
    (task.using(run_after=when) if when is not None else task).enqueue(*args, **kwargs)


def retry_delay_seconds(attempt: int, base_seconds: float | None = None) -> float:
    """Delay before attempt `attempt + 1`, after `attempt` failed runs."""
    base = settings.JOB_RETRY_BASE_SECONDS if base_seconds is None else base_seconds
    delay = min(base * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    return delay * (1 + random.random() * 0.1)  # noqa: S311 - jitter, not crypto


def job(
    *,
    name: str | None = None,
    max_attempts: int | None = None,
    retry_base_seconds: float | None = None,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    **task_options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """`@task()` of django-tasks plus bounded retries with backoff and JOBS_PROCESSED counting.

    `max_attempts` / `retry_base_seconds` default to JOB_MAX_ATTEMPTS / JOB_RETRY_BASE_SECONDS
    (read when the job fails, so tests may override them). Only exceptions in `retry_on`
    are retried; the attempt number travels in a hidden `_attempt` keyword argument.
    Other options (`priority`, `queue_name`, `takes_context`, ...) go to `@task()`.
    """
    takes_context = bool(task_options.get("takes_context", False))

    def decorate(func: Callable[..., Any]) -> Any:
        job_name = name or func.__name__
        holder: dict[str, Any] = {}

        @functools.wraps(func)
        def run(*args: Any, _attempt: int = 1, **kwargs: Any) -> Any:
            try:
                result = func(*args, **kwargs)
            except retry_on as exc:
                limit = settings.JOB_MAX_ATTEMPTS if max_attempts is None else max_attempts
                if _attempt < limit:
                    delay = retry_delay_seconds(_attempt, retry_base_seconds)
                    requeue_args = args[1:] if takes_context else args
                    holder["task"].using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
                        *requeue_args, **{ATTEMPT_KWARG: _attempt + 1}, **kwargs
                    )
                    JOBS_PROCESSED.labels(job=job_name, outcome="retried").inc()
                    logger.warning(
                        "job %s failed (attempt %d/%d, %s); retrying in %.0f s",
                        job_name,
                        _attempt,
                        limit,
                        type(exc).__name__,
                        delay,
                    )
                else:
                    JOBS_PROCESSED.labels(job=job_name, outcome="failed").inc()
                    logger.exception("job %s failed for good after %d attempts", job_name, _attempt)
                raise
            except BaseException:
                JOBS_PROCESSED.labels(job=job_name, outcome="failed").inc()
                raise
            JOBS_PROCESSED.labels(job=job_name, outcome="succeeded").inc()
            return result

        holder["task"] = _task(**task_options)(run)
        return holder["task"]

    return decorate


def jobs_purge_finished() -> int:
    """Delete results of jobs finished more than JOB_RESULT_RETENTION_DAYS ago (daily
    `purge_expired`): the queue table would otherwise grow forever."""
    cutoff = timezone.now() - timedelta(days=settings.JOB_RESULT_RETENTION_DAYS)
    deleted, _ = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=cutoff
    ).delete()
    return deleted
