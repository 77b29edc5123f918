"""`manage.py run_worker`: the job-queue worker with production defaults (CONTRACT §15).

A thin wrapper over django-tasks-db's `db_worker` (claims jobs with SELECT ... FOR
UPDATE SKIP LOCKED, so any number of workers may run side by side). Differences:

- `--no-reload` by default (db_worker reloads when DEBUG); pass `--reload` to opt in;
- `--interval` 1 s by default when the queue is empty;
- `--queue-name '*'` by default: every queue;
- a job whose worker died is put back to READY, so another worker runs it again: on
  start and then every JOB_REQUEUE_CHECK_SECONDS, every worker re-queues the RUNNING jobs
  of workers that are gone. On PostgreSQL a worker holds a session advisory lock named
  after its worker id for as long as it lives, on a connection of its own; PostgreSQL
  drops the lock the moment the process dies (SIGKILL, OOM, a lost host: TCP keepalives),
  so a free lock means a dead worker, however long its job had been running. Jobs
  RUNNING for longer than JOB_STALE_AFTER_SECONDS are re-queued as well (a hung worker,
  or a database without advisory locks, SQLite); `--stale-after 0` disables that. A
  worker whose own lock connection was dropped (a PostgreSQL restart) takes the lock
  again at its next check.
  A re-queued job runs again from the start, so every job is idempotent.

Every other db_worker option passes through (`--batch`, `--max-tasks`, `--worker-id`,
`--backend`, `--exclude-queues`, `--no-startup-delay`).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger("perpetua.jobs")


# The advisory lock of worker W is (LIVENESS_LOCK_CLASS, hashtext(W)): two int4 keys, the
# first one keeping these apart from any other advisory lock of the database.
LIVENESS_LOCK_CLASS = 0x7065_7270  # "perp"
_LOCK_KEYS = "%s::int, hashtext(%s)"


def hold_liveness_lock(*, worker_id: str) -> psycopg.Connection | None:
    """Open a connection of its own holding worker `worker_id`'s advisory lock (PostgreSQL only).

    Not a pooled connection: the lock must live exactly as long as the process. Keepalives
    make PostgreSQL notice a worker whose host vanished within about a minute.
    """
    if connection.vendor != "postgresql":
        return None
    params = {**connection.get_connection_params(), "autocommit": True}
    params.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
    holder = psycopg.connect(**params)
    holder.execute(f"SELECT pg_advisory_lock({_LOCK_KEYS})", [LIVENESS_LOCK_CLASS, worker_id])
    return holder


def renew_liveness_lock(holder: psycopg.Connection | None, *, worker_id: str) -> psycopg.Connection | None:
    """`holder` if its connection (and so the lock) is still there, else a new holder.

    A PostgreSQL restart drops every lock: without this a live worker would look dead to
    the others from then on, and its running jobs would be re-queued under it.
    """
    if holder is None:
        return None
    try:
        holder.execute("SELECT 1")
    except psycopg.Error:
        holder.close()
        return hold_liveness_lock(worker_id=worker_id)
    return holder


def _worker_is_gone(worker_id: str) -> bool:
    """True when nobody holds `worker_id`'s liveness lock (taken and released at once to tell)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN pg_try_advisory_lock({_LOCK_KEYS}) THEN pg_advisory_unlock({_LOCK_KEYS}) ELSE false END",
            [LIVENESS_LOCK_CLASS, worker_id, LIVENESS_LOCK_CLASS, worker_id],
        )
        return bool(cursor.fetchone()[0])


def requeue_stale_jobs(*, older_than_seconds: float, backend_name: str = "default") -> int:
    """Put back to READY the RUNNING jobs whose worker is gone (PostgreSQL) or that started
    more than `older_than_seconds` ago (0: no age limit); returns how many."""
    running = DBTaskResult.objects.filter(backend_name=backend_name, status=TaskResultStatus.RUNNING)
    abandoned = Q(pk__in=[])
    if older_than_seconds > 0:
        abandoned |= Q(started_at__lt=timezone.now() - timedelta(seconds=older_than_seconds))
    if connection.vendor == "postgresql":
        last_worker = {pk: ids[-1] for pk, ids in running.values_list("pk", "worker_ids") if ids}
        gone = {worker for worker in set(last_worker.values()) if _worker_is_gone(worker)}  # one check per worker
        abandoned |= Q(pk__in=[pk for pk, worker in last_worker.items() if worker in gone])
    return running.filter(abandoned).update(status=TaskResultStatus.READY, started_at=None)


class Command(DbWorkerCommand):
    help = "Run the background job worker (production defaults over django-tasks-db's db_worker)."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--stale-after",
            type=float,
            default=None,
            help="Seconds after which a RUNNING job is re-queued even though its worker seems alive "
            "(default: JOB_STALE_AFTER_SECONDS; 0 disables).",
        )
        parser.set_defaults(reload=False, interval=1.0, queue_name="*")

    def handle(self, *args: Any, **options: Any) -> None:
        stale_after = options.pop("stale_after", None)
        if stale_after is None:
            stale_after = settings.JOB_STALE_AFTER_SECONDS
        backend_name = options["backend_name"]
        # Alive from here on, before claiming any job: its jobs are never taken for orphans.
        liveness = hold_liveness_lock(worker_id=options["worker_id"])
        self._liveness = liveness
        stop = threading.Event()
        _requeue_and_log(older_than_seconds=stale_after, backend_name=backend_name)
        threading.Thread(
            target=self._watch,
            kwargs={"older_than_seconds": stale_after, "backend_name": backend_name, "stop": stop,
                    "worker_id": options["worker_id"]},
            name="requeue-stale-jobs",
            daemon=True,
        ).start()  # fmt: skip
        options.setdefault("reload", False)
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()  # the worker loop ended (e.g. --max-tasks): so does the re-queue thread
            if self._liveness is not None:
                self._liveness.close()

    def _watch(self, *, older_than_seconds: float, backend_name: str, stop: threading.Event, worker_id: str) -> None:
        """Every JOB_REQUEUE_CHECK_SECONDS: keep this worker's own lock, then rescue the jobs of
        siblings that died (a worker that runs for weeks still does)."""
        while not stop.wait(settings.JOB_REQUEUE_CHECK_SECONDS):
            try:
                self._liveness = renew_liveness_lock(self._liveness, worker_id=worker_id)
                _requeue_and_log(older_than_seconds=older_than_seconds, backend_name=backend_name)
            except Exception:
                logger.exception("could not re-queue abandoned jobs")
            finally:
                connection.close()


def _requeue_and_log(*, older_than_seconds: float, backend_name: str) -> None:
    count = requeue_stale_jobs(older_than_seconds=older_than_seconds, backend_name=backend_name)
    if count:
        logger.warning("re-queued %d job(s) abandoned by a dead worker", count)
