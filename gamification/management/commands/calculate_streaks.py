"""`manage.py calculate_streaks`: the daily streak job (CONTRACT §11, §15).

Run it once a day after UTC midnight (any hour works: it compares dates). Idempotent:
a second run, or a run after a missed day, breaks exactly the streaks whose last
completion is before yesterday (UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gamification.services import streaks_break_stale


class Command(BaseCommand):
    help = "Break the streaks of users with no completion yesterday or today (UTC days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="Treat this UTC date (YYYY-MM-DD) as today; for backfills and tests.")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options.get("today"):
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as exc:
                raise CommandError(f"Not a date (YYYY-MM-DD): {options['today']!r}") from exc
        broken = streaks_break_stale(today=today)
        self.stdout.write(f"calculate_streaks: {broken} streak(s) broken")
