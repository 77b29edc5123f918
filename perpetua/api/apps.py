from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "perpetua.api"
    label = "api"
    verbose_name = "API conventions"
