"""Cross-cutting routes under /api/v1/: OpenAPI schema, Swagger UI, health probes."""

from django.urls import path

from perpetua.api.docs import DocsView, SchemaView
from perpetua.api.health import LiveView, ReadyView

urlpatterns = [
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("health/live", LiveView.as_view(), name="health-live"),
    path("health/ready", ReadyView.as_view(), name="health-ready"),
]
