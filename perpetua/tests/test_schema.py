"""OpenAPI (CONTRACT §0): the schema validates and describes every /api/v1/ endpoint.

Written generically: it walks the real URLconf, so each app's new endpoints are checked
as they land.
"""

import json
import re

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "/api/v1/"
NOT_IN_SCHEMA = ("schema/", "docs/", "ws/")
UNSAFE = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_setup, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


def _route_text(pattern) -> str:
    text = str(pattern.pattern)
    return text.lstrip("^").removesuffix("$").removesuffix("\\Z")


def _walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + _route_text(entry)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def _normalise(route: str) -> str:
    """`/tasks/<uuid:id>`, `tasks/(?P<pk>[^/.]+)/` and `/tasks/{id}` all become `/tasks/{}`."""
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "{}", route)
    route = re.sub(r"<(?:\w+:)?\w+>", "{}", route)
    route = re.sub(r"\{\w+\}", "{}", route)
    return "/" + route.lstrip("/")


def api_routes():
    for route, callback in _walk(get_resolver().url_patterns):
        path = "/" + route
        if not path.startswith(API_PREFIX):
            continue
        rest = path.removeprefix(API_PREFIX)
        if rest.startswith(NOT_IN_SCHEMA) or rest.startswith("health/"):
            continue
        if "(?P<format>" in route or "<drf_format_suffix" in route:
            continue  # DRF format-suffix duplicates
        view_class = getattr(callback, "cls", None)
        if view_class is not None and getattr(view_class, "schema", "present") is None:
            continue  # DRF's router root view (schema = None) is documentation-free by design
        yield _normalise(path), callback


def test_schema_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")
    assert "Error" in schema["components"]["schemas"]


def test_every_api_endpoint_is_in_the_schema(schema):
    documented = {_normalise(path) for path in schema["paths"]}
    missing = sorted(
        f"{route} ({getattr(callback, '__module__', '?')})"
        for route, callback in api_routes()
        if route not in documented
    )
    assert not missing, f"endpoints missing from the OpenAPI schema: {missing}"


def test_every_operation_documents_the_contract_errors(schema):
    error_ref = "#/components/schemas/Error"
    for name in ("BadRequest", "Unauthorized", "Conflict", "TooManyRequests", "InternalError"):
        content = schema["components"]["responses"][name]["content"]["application/json"]
        assert content["schema"]["$ref"] == error_ref
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "500" in responses, (method, path)
            assert "x-perpetua-error-statuses" not in operation
            if method in UNSAFE:
                assert "409" in responses and "400" in responses, (method, path)
            if not path.startswith(API_PREFIX + "health/"):
                assert "429" in responses, (method, path)


def test_no_operation_documents_a_204(schema):
    """CONTRACT §0: every success has a JSON body (the SPA parses each one), so no 204."""
    empty = sorted(
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "204" in operation.get("responses", {})
    )
    assert not empty, f"operations documenting 204 No Content: {empty}"
    for path, item in schema["paths"].items():
        delete = item.get("delete")
        if delete is not None:
            assert "application/json" in delete["responses"]["200"]["content"], path


def test_error_schema_is_the_contract_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    inner = error["properties"]["error"]
    assert set(inner["required"]) == {"code", "message", "request_id"}
    assert inner["properties"]["details"]["items"]["required"] == ["field", "message"]


@pytest.mark.django_db
@pytest.mark.urls("perpetua.tests.urls")
def test_schema_marks_idempotency_and_deprecation(anon_client):
    schema = anon_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    ai = schema["paths"]["/api/v1/ai/echo"]["post"]
    key = next(p for p in ai["parameters"] if p["name"] == "Idempotency-Key")
    assert key["in"] == "header" and key["required"] is True
    echo = schema["paths"]["/api/v1/echo"]["post"]
    assert next(p for p in echo["parameters"] if p["name"] == "Idempotency-Key").get("required", False) is False
    assert "parameters" not in schema["paths"]["/api/v1/echo"]["get"]
    assert schema["paths"]["/api/v1/old"]["get"]["deprecated"] is True
    assert schema["paths"]["/api/v1/old-method"]["get"]["deprecated"] is True
    assert "deprecated" not in schema["paths"]["/api/v1/old-method"]["post"]
    assert "404" in schema["paths"]["/api/v1/items/{id}"]["get"]["responses"]
    assert "429" not in schema["paths"]["/api/v1/health/live"]["get"]["responses"]
    assert "401" not in schema["paths"]["/api/v1/health/live"]["get"]["responses"]


@pytest.mark.django_db
def test_schema_and_docs_are_public(anon_client):
    schema = anon_client.get("/api/v1/schema/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert schema.status_code == 200
    assert schema.content.startswith(b"openapi: 3")
    as_json = anon_client.get("/api/v1/schema/?format=json")
    assert as_json.status_code == 200
    assert as_json.json()["info"]["title"] == "Perpetua API"
    docs = anon_client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"/api/v1/schema/" in docs.content
