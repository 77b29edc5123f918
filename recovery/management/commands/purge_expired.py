"""Daily cron `purge_expired` (CONTRACT §15): retention of every expiring table, in one command.

Each purge is an idempotent DELETE of rows past their retention, so running the
command twice (or after a missed day) is harmless.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.services import refresh_tokens_purge_revoked
from perpetua.api.idempotency import idempotency_purge_expired
from recovery.services import activity_purge_expired, tombstone_purge_expired


class Command(BaseCommand):
    help = (
        "Delete activity entries older than ACTIVITY_RETENTION_DAYS, expired tombstones, idempotency keys older "
        "than IDEMPOTENCY_TTL_HOURS and refresh tokens revoked/expired over REVOKED_TOKEN_RETENTION_DAYS ago."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = {
            "activity entries": activity_purge_expired(),
            "tombstones": tombstone_purge_expired(),
            "idempotency keys": idempotency_purge_expired(),
            "refresh tokens": refresh_tokens_purge_revoked(),
        }
        self.stdout.write("purged " + ", ".join(f"{n} {what}" for what, n in counts.items()))
