from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme of JWTAuthentication. Imported here, not at
        # the top, because Django loads this module before any model.
        from accounts import schema  # noqa: F401, PLC0415
