"""`manage.py expire_daily_credits`: the daily credits job (CONTRACT §10, §15).

Run it from cron just after 00:00 UTC. Idempotent: a second run the same day changes
nothing, and a run after a missed day expires everything past its midnight and grants
today's credits.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from credits.services import daily_credits_run


class Command(BaseCommand):
    help = "Expire daily AI credits past their UTC midnight and grant today's to Pro users."

    def handle(self, *args: Any, **options: Any) -> None:
        run = daily_credits_run()
        self.stdout.write(
            f"expire_daily_credits: {run.expired_credits} credit(s) of {run.expired_users} user(s) expired, "
            f"{run.granted_users} user(s) granted today's credits"
        )
