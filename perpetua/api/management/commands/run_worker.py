"""`manage.py run_worker`: the job-queue worker with production defaults (CONTRACT §15).

A thin wrapper over django-tasks-db's `db_worker` (claims jobs with SELECT ... FOR
UPDATE SKIP LOCKED, so any number of workers may run side by side). Differences:

- `--no-reload` by default (db_worker reloads when DEBUG); pass `--reload` to opt in;
- `--interval` 1 s by default when the queue is empty;
- `--queue-name '*'` by default: every queue;
- on start and then every minute, jobs left RUNNING for longer than
  JOB_STALE_AFTER_SECONDS (their worker died) are put back to READY, so they run again
  (`--stale-after 0` disables).

Every other db_worker option passes through (`--batch`, `--max-tasks`, `--worker-id`,
`--backend`, `--exclude-queues`, `--no-startup-delay`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("perpetua.jobs")


def requeue_stale_jobs(*, older_than_seconds: float, backend_name: str = "default") -> int:
    """Put RUNNING jobs started more than `older_than_seconds` ago back to READY."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return DBTaskResult.objects.filter(
        backend_name=backend_name, status=TaskResultStatus.RUNNING, started_at__lt=cutoff
    ).update(status=TaskResultStatus.READY, started_at=None)


class Command(DbWorkerCommand):
    help = "Run the background job worker (production defaults over django-tasks-db's db_worker)."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--stale-after",
            type=float,
            default=None,
            help="Seconds after which a RUNNING job is considered abandoned and re-queued on start "
            "(default: JOB_STALE_AFTER_SECONDS; 0 disables).",
        )
        parser.set_defaults(reload=False, interval=1.0, queue_name="*")

    def handle(self, *args: Any, **options: Any) -> None:
        stale_after = options.pop("stale_after", None)
        if stale_after is None:
            stale_after = settings.JOB_STALE_AFTER_SECONDS
        stop = threading.Event()
        if stale_after and stale_after > 0:
            _requeue_and_log(older_than_seconds=stale_after, backend_name=options["backend_name"])
            threading.Thread(
                target=_requeue_periodically,
                kwargs={"older_than_seconds": stale_after, "backend_name": options["backend_name"], "stop": stop},
                name="requeue-stale-jobs",
                daemon=True,
            ).start()
        options.setdefault("reload", False)
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()  # the worker loop ended (e.g. --max-tasks): so does the re-queue thread


def _requeue_and_log(*, older_than_seconds: float, backend_name: str) -> None:
    count = requeue_stale_jobs(older_than_seconds=older_than_seconds, backend_name=backend_name)
    if count:
        logger.warning("re-queued %d job(s) abandoned by a dead worker", count)


def _requeue_periodically(
    *, older_than_seconds: float, backend_name: str, stop: threading.Event, every_seconds: float = 60.0
) -> None:
    """A worker that runs for weeks still rescues the jobs of a sibling that died."""
    while not stop.wait(every_seconds):
        try:
            _requeue_and_log(older_than_seconds=older_than_seconds, backend_name=backend_name)
        except Exception:
            logger.exception("could not re-queue abandoned jobs")
        finally:
            connection.close()
