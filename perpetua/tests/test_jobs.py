"""Job queue groundwork (CONTRACT §15): enqueue on commit, the real worker, bounded retries."""

import signal
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from perpetua.api.management.commands.run_worker import hold_liveness_lock, renew_liveness_lock, requeue_stale_jobs
from perpetua.api.metrics import JOBS_PROCESSED
from perpetua.jobs import enqueue, retry_delay_seconds
from perpetua.tests.jobs_for_tests import always_fails, fails_once, record_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """The worker installs SIGINT/SIGTERM handlers; put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def run_worker(**options):
    options = {"batch": True, "startup_delay": False, "interval": 0, "verbosity": 0, **options}
    call_command("run_worker", **options)


def runs(tag):
    return Group.objects.filter(name__startswith=f"{tag}-").count()


def counter(job, outcome):
    return JOBS_PROCESSED.labels(job=job, outcome=outcome)._value.get()


def test_enqueued_job_runs_exactly_once():
    with transaction.atomic():
        enqueue(record_run, "once")  # written in the transaction, committed with it
    assert DBTaskResult.objects.count() == 1
    succeeded = counter("record_run", "succeeded")

    run_worker()
    run_worker()  # a second worker pass finds nothing left to do

    assert runs("once") == 1
    result = DBTaskResult.objects.get()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "once"
    assert counter("record_run", "succeeded") == succeeded + 1


def test_rolled_back_transaction_enqueues_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(record_run, "never")
        raise RuntimeError("rollback")
    assert DBTaskResult.objects.count() == 0


def test_run_after_defers_the_job():
    enqueue(record_run, "later", run_after=timedelta(hours=1))
    run_worker()
    assert runs("later") == 0
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY


def test_failing_job_is_retried_up_to_the_bound():
    retried, failed = counter("always_fails", "retried"), counter("always_fails", "failed")
    always_fails.enqueue("flaky")
    run_worker()
    assert runs("flaky") == 3
    results = DBTaskResult.objects.order_by("enqueued_at")
    assert [r.status for r in results] == [TaskResultStatus.FAILED] * 3
    assert [r.args_kwargs["kwargs"].get("_attempt", 1) for r in results] == [1, 2, 3]
    assert counter("always_fails", "retried") == retried + 2
    assert counter("always_fails", "failed") == failed + 1


def test_transient_failure_succeeds_on_retry(settings):
    settings.JOB_MAX_ATTEMPTS = 5
    fails_once.enqueue("transient")
    run_worker()
    assert runs("transient") == 2
    statuses = list(DBTaskResult.objects.order_by("enqueued_at").values_list("status", flat=True))
    assert statuses == [TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL]


def test_job_abandoned_by_a_dead_worker_runs_again(settings):
    settings.JOB_STALE_AFTER_SECONDS = 60
    record_run.enqueue("orphan")
    DBTaskResult.objects.update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=5), worker_ids=["dead"]
    )
    run_worker()
    assert runs("orphan") == 1
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_recent_running_job_is_left_alone(settings):
    settings.JOB_STALE_AFTER_SECONDS = 600
    record_run.enqueue("busy")
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=timezone.now())
    run_worker()
    assert runs("busy") == 0


def test_backoff_grows_exponentially(settings):
    settings.JOB_RETRY_BASE_SECONDS = 30
    delays = [retry_delay_seconds(attempt) for attempt in (1, 2, 3)]
    assert 30 <= delays[0] <= 33 and 60 <= delays[1] <= 66 and 120 <= delays[2] <= 132
    assert retry_delay_seconds(30) <= 3600 * 1.1


def test_running_job_is_requeued_once_its_workers_liveness_lock_is_gone(settings):
    settings.JOB_STALE_AFTER_SECONDS = 900
    record_run.enqueue("lease")
    alive = hold_liveness_lock(worker_id="sibling")  # another worker, running this job right now
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["sibling"])
    try:
        assert requeue_stale_jobs(older_than_seconds=900) == 0
    finally:
        alive.close()  # the sibling dies: PostgreSQL drops its lock (as soon as its backend has exited)
    assert _eventually(lambda: requeue_stale_jobs(older_than_seconds=900)) == 1
    run_worker()
    assert runs("lease") == 1


def test_a_worker_takes_its_lock_again_after_losing_its_connection(settings):
    """After a PostgreSQL restart (here: its backend terminated) a live worker is not taken for dead."""
    record_run.enqueue("restart")
    holder = hold_liveness_lock(worker_id="survivor")
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=timezone.now(), worker_ids=["survivor"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [holder.info.backend_pid])
    holder = renew_liveness_lock(holder, worker_id="survivor")
    try:
        assert requeue_stale_jobs(older_than_seconds=900) == 0
    finally:
        holder.close()
    assert _eventually(lambda: requeue_stale_jobs(older_than_seconds=900)) == 1


def _eventually(count, seconds=10.0):
    """`count()`'s first non-zero result: a closed connection's backend exits (and frees its locks) a moment later."""
    deadline = time.monotonic() + seconds
    while not (result := count()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result
