from django.apps import AppConfig

from recovery.registry import RetentionPurge, retention_purge_register


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        """`purge_expired` (recovery, below billing) also trims stored Checkout.com events:
        billing registers that purge rather than recovery importing billing. Imported here,
        not at the top, because Django loads this module before any model."""
        from billing.services.webhooks import webhook_events_purge_expired  # noqa: PLC0415

        retention_purge_register(RetentionPurge(label="webhook events", purge=webhook_events_purge_expired))
