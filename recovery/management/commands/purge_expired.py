"""Daily cron `purge_expired` (CONTRACT §15): retention of every expiring table, in one command.

Each purge is an idempotent DELETE of rows past their retention, so running the
command twice (or after a missed day) is harmless.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.services import refresh_tokens_purge_revoked
from perpetua.api.idempotency import idempotency_purge_expired
from perpetua.jobs import jobs_purge_finished
from recovery.registry import retention_purges
from recovery.services import activity_purge_expired, tombstone_purge_expired


class Command(BaseCommand):
    help = (
        "Delete activity entries, tombstones, idempotency keys, refresh tokens and finished jobs "
        "past their retention (ACTIVITY_RETENTION_DAYS, TOMBSTONE_TTL_DAYS, IDEMPOTENCY_TTL_HOURS, "
        "REVOKED_TOKEN_RETENTION_DAYS, JOB_RESULT_RETENTION_DAYS), and what other apps registered "
        "(billing: Checkout.com events older than WEBHOOK_EVENT_RETENTION_DAYS)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = {
            "activity entries": activity_purge_expired(),
            "tombstones": tombstone_purge_expired(),
            "idempotency keys": idempotency_purge_expired(),
            "refresh tokens": refresh_tokens_purge_revoked(),
            "finished jobs": jobs_purge_finished(),
        }
        for entry in retention_purges():
            counts[entry.label] = entry.purge()
        self.stdout.write("purged " + ", ".join(f"{n} {what}" for what, n in counts.items()))
