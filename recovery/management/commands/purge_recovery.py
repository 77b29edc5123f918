"""Daily cron: drop activity entries past ACTIVITY_RETENTION_DAYS and expired tombstones (§14)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from recovery.services import activity_purge_expired, tombstone_purge_expired


class Command(BaseCommand):
    help = "Delete activity-log entries older than ACTIVITY_RETENTION_DAYS and expired tombstones."

    def handle(self, *args: Any, **options: Any) -> None:
        activity = activity_purge_expired()
        tombstones = tombstone_purge_expired()
        self.stdout.write(f"purged {activity} activity entries, {tombstones} tombstones")
