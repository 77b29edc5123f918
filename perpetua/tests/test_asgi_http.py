"""The ASGI application daphne serves: Django requests through one thread hop."""

import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.http import StreamingHttpResponse
from django.urls import path

from perpetua.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _stream_view(request):
    return StreamingHttpResponse((f"data: {n}\n\n" for n in range(3)), content_type="text/event-stream")


urlpatterns = [path("stream", _stream_view)]


def _scope(path, method="GET", headers=()):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }


async def _call(scope, *bodies):
    app = ApplicationCommunicator(application, scope)
    for index, body in enumerate(bodies or [b""]):
        await app.send_input({"type": "http.request", "body": body, "more_body": index < len(bodies) - 1})
    start = await app.receive_output(5)
    chunks = []
    while True:
        message = await app.receive_output(5)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    await app.wait(1)
    return start, chunks


async def test_http_request_runs_django_with_middleware_and_sends_one_body_message():
    start, chunks = await _call(_scope("/api/v1/health/live", headers=[(b"x-request-id", b"abc-123")]))
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"x-request-id"] == b"abc-123"
    assert len(chunks) == 1 and json.loads(chunks[0]) == {"status": "ok"}


async def test_unknown_api_path_gets_the_contract_error_shape():
    start, chunks = await _call(_scope("/api/v1/does-not-exist"))
    assert start["status"] == 404
    assert json.loads(b"".join(chunks))["error"]["code"] == "NOT_FOUND"


async def test_body_over_the_limit_is_refused_while_reading_even_without_content_length(settings):
    from perpetua import asgi

    app = asgi.application.application_mapping["http"]
    original, app.max_body = app.max_body, 1000
    settings.MAX_REQUEST_BODY_BYTES = 1000
    try:
        headers = [
            (b"content-type", b"application/json"),
            (b"x-request-id", b"big-1"),
            (b"origin", settings.CORS_ALLOWED_ORIGINS[0].encode()),
        ]
        start, chunks = await _call(_scope("/api/v1/tasks", method="POST", headers=headers), b"x" * 600, b"x" * 600)
    finally:
        app.max_body = original
    assert start["status"] == 413
    body = json.loads(b"".join(chunks))
    assert body["error"]["code"] == "PAYLOAD_TOO_LARGE"
    response_headers = dict(start["headers"])
    assert body["error"]["request_id"] == response_headers[b"x-request-id"].decode() == "big-1"
    assert response_headers[b"access-control-allow-origin"] == settings.CORS_ALLOWED_ORIGINS[0].encode()


@pytest.mark.urls("perpetua.tests.test_asgi_http")
async def test_streaming_response_is_relayed_chunk_by_chunk():
    start, chunks = await _call(_scope("/stream"))
    assert start["status"] == 200
    assert [c for c in chunks if c] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
