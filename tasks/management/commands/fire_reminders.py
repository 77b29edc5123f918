"""`manage.py fire_reminders`: fire every due reminder once (CONTRACT §6, §15).

The cron safety net next to the worker's scheduled `reminders_fire_due_job` jobs (run it
every minute). Idempotent and safe to run concurrently with workers and with itself:
rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tasks.services.reminders import reminders_fire_due


class Command(BaseCommand):
    help = "Fire every due, unfired reminder exactly once (cron-safe)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = reminders_fire_due()
        if options["verbosity"] >= 1:
            self.stdout.write(f"fired {count} reminder(s)")
