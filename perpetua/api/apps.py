from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "perpetua.api"
    label = "api"
    verbose_name = "API conventions"

    def ready(self) -> None:
        from perpetua.api import site_only  # noqa: F401, PLC0415 -- registers its system check
