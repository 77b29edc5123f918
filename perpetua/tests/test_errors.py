"""The contract's error shape (CONTRACT §0) for everything the conventions produce."""

import io
import json
import logging
import uuid

import pytest

from perpetua.api.logging import JsonFormatter, RequestIdFilter

pytestmark = [pytest.mark.urls("perpetua.tests.urls"), pytest.mark.django_db]


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_validation_error_has_field_details(api):
    error = assert_error(api.post("/api/v1/echo", {"title": ""}, format="json"), 400, "VALIDATION_ERROR")
    assert error["details"] == [{"field": "title", "message": "This field may not be blank."}]


def test_malformed_json_is_a_validation_error(api):
    assert_error(api.post("/api/v1/echo", "{nope", content_type="application/json"), 400, "VALIDATION_ERROR")


def test_missing_credentials_is_401(anon_client):
    response = anon_client.get("/api/v1/echo")
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert "details" not in error
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_drf_404(api):
    assert_error(api.get(f"/api/v1/items/{uuid.uuid4()}"), 404, "NOT_FOUND")


def test_unknown_api_url_is_a_json_404(api, anon_client):
    assert_error(api.get("/api/v1/does-not-exist"), 404, "NOT_FOUND")
    assert_error(anon_client.post("/api/v1/does/not/exist", {}), 404, "NOT_FOUND")


def test_method_not_allowed(api):
    response = api.delete("/api/v1/echo")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]


def test_body_over_the_maximum_is_413(api, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100
    response = api.post("/api/v1/echo", {"title": "x" * 200}, format="json")
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_unhandled_exception_is_internal_error_without_internals(api, settings):
    settings.DEBUG = False
    api.raise_request_exception = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    errors_logger = logging.getLogger("perpetua.errors")
    errors_logger.addHandler(handler)
    try:
        response = api.get("/api/v1/boom", HTTP_X_REQUEST_ID="req-500-check")
    finally:
        errors_logger.removeHandler(handler)
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert error["request_id"] == "req-500-check"
    body = response.content.decode()
    assert "SELECT" not in body and "secret_table" not in body and "Traceback" not in body
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    assert lines, "the crash was not logged"
    assert lines[0]["request_id"] == "req-500-check"
    assert lines[0]["level"] == "ERROR"
    assert "secret_table" in lines[0].get("exc_info", "")


def test_method_not_allowed_by_a_plain_django_view(api):
    response = api.post("/api/v1/plain-get-only", {}, format="json")
    error = assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert error["message"] == "Method not allowed."
    assert response["Allow"] == "GET"


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "message"),
    [
        ("get", "/api/v1/does-not-exist", 404, "NOT_FOUND", "Not found."),
        # Http404 in a DRF view; a fixed id, so that every xdist worker collects the same test ids
        ("get", "/api/v1/items/00000000-0000-4000-8000-000000000097", 404, "NOT_FOUND", "Not found."),
        ("delete", "/api/v1/plain-get-only", 405, "METHOD_NOT_ALLOWED", "Method not allowed."),
        ("post", "/api/v1/echo", 413, "PAYLOAD_TOO_LARGE", "Request body is too large."),
        ("get", "/api/v1/boom", 500, "INTERNAL_ERROR", "Internal server error."),
    ],
)
def test_every_error_answer_carries_its_contract_message(api, settings, method, path, status, code, message):
    settings.MAX_REQUEST_BODY_BYTES = 100
    api.raise_request_exception = False
    body = {"title": "x" * 200} if status == 413 else None
    response = getattr(api, method)(path, body, format="json")
    assert assert_error(response, status, code)["message"] == message


def test_drf_keeps_its_own_message_under_the_contract_code(api):
    error = assert_error(api.delete("/api/v1/echo"), 405, "METHOD_NOT_ALLOWED")
    assert error["message"] == 'Method "DELETE" not allowed.'


def test_request_id_is_echoed_when_valid_and_generated_otherwise(api):
    assert api.get("/api/v1/echo", HTTP_X_REQUEST_ID="abc-123").headers["X-Request-ID"] == "abc-123"
    generated = api.get("/api/v1/echo", HTTP_X_REQUEST_ID="bad id with spaces").headers["X-Request-ID"]
    assert generated and generated != "bad id with spaces"
    assert api.get("/api/v1/echo").headers["X-Request-ID"]


def test_cors_allows_configured_origin_with_credentials(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = api.get("/api/v1/echo", HTTP_ORIGIN="https://app.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert allowed["Access-Control-Allow-Credentials"] == "true"
    assert "X-Request-ID" in allowed["Access-Control-Expose-Headers"]
    other = api.get("/api/v1/echo", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in other


def test_cors_preflight(anon_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = anon_client.options(
        "/api/v1/echo",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, idempotency-key",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "idempotency-key" in response["Access-Control-Allow-Headers"]


def test_unpaired_surrogate_escape_anywhere_in_the_body_is_a_400(api):
    for body in ('{"\\udc00": 1}', '{"title": ["x", {"y": "\\ud800"}]}'):
        response = api.generic("POST", "/api/v1/echo", body, content_type="application/json")
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert "surrogate" in error["message"]
    paired = api.generic("POST", "/api/v1/echo", '{"title": "\\ud83d\\ude00"}', content_type="application/json")
    assert paired.status_code == 201


def test_deeply_nested_json_is_a_400_not_a_crash(api):
    body = "[" * 50000 + "]" * 50000
    response = api.generic("POST", "/api/v1/echo", body, content_type="application/json")
    assert_error(response, 400, "VALIDATION_ERROR")


def test_errors_raised_in_middleware_keep_the_error_shape(api):
    # An unknown Host header is refused by Django's CommonMiddleware, before any view.
    response = api.get("/api/v1/echo", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["message"] == "Bad request."


def test_rate_limiting_fails_open_when_the_shared_cache_is_down(api, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = api.get("/api/v1/echo")
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response


def test_django_request_log_lines_carry_the_request_id_of_their_request():
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), None)
    record.request = type("Request", (), {"request_id": "req-42"})()
    RequestIdFilter().filter(record)
    assert record.request_id == "req-42"


TOO_MANY = "&".join(f"p{i}=" for i in range(1001))


def _error_records(caplog):
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ["/api/v1/health/live", "/api/v1/echo", "/api/v1/plain-form", "/api/v1/nowhere"])
def test_too_many_query_parameters_is_a_400_on_every_route_without_an_error_log(api, caplog, path):
    api.raise_request_exception = False
    with caplog.at_level(logging.INFO):
        response = api.get(f"{path}?{TOO_MANY}")
    if path == "/api/v1/nowhere":  # nothing reads the query string of an unknown URL
        assert_error(response, 404, "NOT_FOUND")
    else:
        error = assert_error(response, 400, "VALIDATION_ERROR")
        assert error["message"] == "Too many query or form parameters."
    assert not _error_records(caplog)


def test_the_query_parameter_limit_is_django_s_setting(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    assert api.get("/api/v1/plain-form?a=1&b=2&c=3").json()["data"]["query"] == 3
    assert_error(api.get("/api/v1/plain-form?a=1&b=2&c=3&d=4"), 400, "VALIDATION_ERROR")


def test_too_many_form_fields_or_files_is_a_400_without_an_error_log(api, caplog, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api.raise_request_exception = False
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = {f"f{i}": SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(4)}
    with caplog.at_level(logging.INFO):
        response = api.post("/api/v1/plain-form", files)
        fields = api.post("/api/v1/plain-form", {f"p{i}": "" for i in range(1001)})
    assert assert_error(response, 400, "VALIDATION_ERROR")["message"] == "Too many uploaded files."
    assert assert_error(fields, 400, "VALIDATION_ERROR")["message"] == "Too many query or form parameters."
    assert not _error_records(caplog)
