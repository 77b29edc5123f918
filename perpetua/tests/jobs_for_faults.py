"""Jobs of test_faults_worker.py (module level, so a worker process can import them by path).

Apart from jobs_for_tests.py, which lower apps' tests import: this one reaches the tasks app.
"""

import time
import uuid
from pathlib import Path

from django.db import transaction

from perpetua.jobs import job
from tasks.services.reminders import reminders_fire_due


@job()
def fire_reminders_and_wait(flag_dir: str) -> int:
    """The reminder job (`reminders_fire_due`) paused inside its transaction: each run leaves a
    `run-*` file in `flag_dir`, then waits there for a `release` file."""
    flags = Path(flag_dir)
    with transaction.atomic():
        fired = reminders_fire_due()
        (flags / f"run-{uuid.uuid4().hex}").touch()
        while not (flags / "release").exists():
            time.sleep(0.05)
    return fired
