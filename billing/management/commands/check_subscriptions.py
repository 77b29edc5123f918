"""Daily cron `check_subscriptions` (CONTRACT §12, §15): renewals, grace → expired, cancelled → expired."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from billing.services.renewals import subscriptions_check


class Command(BaseCommand):
    help = (
        "Expire subscriptions whose grace or cancelled period is over (tier back to free), roll staff grants on, "
        "and ask Checkout.com for the renewal of every subscription whose period has ended. Idempotent."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        run = subscriptions_check()
        self.stdout.write(
            f"expired {run.expired}, extended {run.extended}, renewals requested {run.renewals_requested}, "
            f"renewals failed {run.renewals_failed} (retried next run)"
        )
