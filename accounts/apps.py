from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # Registers the OpenAPI security scheme of JWTAuthentication.
        from accounts import schema  # noqa: F401
